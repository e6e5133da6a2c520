"""Shared constants and helpers of the synthesis tests (imported by name; not a conftest)."""

import pytorch_lightning as pl
import torch

from videogen3d.data.moving_objects import CLASS_NAMES

GEO = {"clip_len": 8, "frame_size": [24, 32], "class_names": list(CLASS_NAMES)}
C3D_NET = {"_target_": "videogen3d.models.c3d.C3D", "pools": 3, "width": 0.125, "fc_dim": 32, "dropout": 0.0}
CAE_NET = {"_target_": "videogen3d.models.tempcae.TempCAE", "widths": [8, 16]}


def save_module(module: pl.LightningModule, path) -> None:
    """A Lightning-loadable checkpoint without a training run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": pl.__version__}, path)
