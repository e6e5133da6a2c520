"""Shared constants and helpers of the synthesis and documentation tests (imported by name from tests/; not a conftest)."""

from typing import Any

import torch
from hydra.utils import instantiate
from torch.utils.data import Dataset

from videogen3d.data.moving_objects import CLASS_NAMES, render_clip
from videogen3d.synthesis.checkpoints import MODULE_CONFIG_KEY

GEO = {"clip_len": 8, "frame_size": [24, 32], "class_names": list(CLASS_NAMES)}
C3D_NET = {"_target_": "videogen3d.models.c3d.C3D", "pools": 3, "width": 0.125, "fc_dim": 32, "dropout": 0.0,
           "num_classes": len(CLASS_NAMES), "clip_len": 8, "frame_size": [24, 32]}
CAE_NET = {"_target_": "videogen3d.models.tempcae.TempCAE", "widths": [8, 16], "cs": 3, "frame_size": [24, 32]}
VAE_MODULE = {"_target_": "videogen3d.tasks.vae.ClipVAEModule", "clip_len": 8, "frame_size": [24, 32],
              "net": {"_target_": "videogen3d.models.clip_vae.ClipVAE", "latent_dim": 6, "widths": [8, 16, 16],
                      "clip_len": 8, "frame_size": [24, 32]},
              "optimizer": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 3e-3}}
# module nodes as the stages build them (conf/synth/classifier, conf/synth/autoencoder with the geometry added)
C3D_MODULE = {"_target_": "videogen3d.tasks.classifier.VideoClassifier", "net": C3D_NET,
              "class_names": list(CLASS_NAMES), "clip_len": 8, "frame_size": [24, 32]}
CAE_MODULE = {"_target_": "videogen3d.tasks.autoencoder.TempCAEModule", "net": CAE_NET, "cs": 3, "clip_len": 8,
              "frame_size": [24, 32]}


def build(node: dict[str, Any], **overrides: Any) -> Any:
    """``instantiate`` a module node with some keys replaced (nested dicts merge)."""
    return instantiate(node, _convert_="all", **overrides)


def save_module(module: torch.nn.Module, node: dict[str, Any], path) -> None:
    """A checkpoint as the stages write it (weights + the module's config node), without a training run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), MODULE_CONFIG_KEY: node, "epoch": 1}, path)


def run_logged(caplog, cfg) -> str:
    """``stages.run(cfg)`` with the stages' INFO log captured afresh; returns that log's text."""
    import logging

    from videogen3d.synthesis.stages import run

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="videogen3d.synthesis.stages"):
        run(cfg)
    return caplog.text


class RenderedClips(Dataset):
    """``n`` moving-objects clips of the first four classes (8 frames of 32x24, render seed 0) in [-1, 1], as
    ``{"target": clip}`` items: the clip VAE tests' training set."""

    def __init__(self, n: int = 16) -> None:
        import numpy as np
        rng = np.random.default_rng(0)
        clips = [render_clip(CLASS_NAMES[i % 4], rng, (24, 32), 8) for i in range(n)]
        self.x = torch.as_tensor(np.stack(clips)).permute(0, 4, 1, 2, 3).float() / 127.5 - 1

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"target": self.x[i]}


def save_untrained_c3d(path, clip_len: int = 8, frame_size: list[int] | None = None, pools: int = 3):
    """An untrained tiny C3D saved as ``synth.py`` saves a classifier or its judge (weights and the module's node)."""
    geo = {"clip_len": clip_len, "frame_size": list(frame_size or [24, 32])}
    node = C3D_MODULE | geo | {"net": C3D_NET | geo | {"pools": pools}}
    save_module(build(node), node, path)
    return path
