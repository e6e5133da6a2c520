"""A run folder made in a second, without training: the composed tiny config, its overrides and a
checkpoint of a freshly built generator, laid out as ``train.py`` lays out a run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from videogen3d.utils.compose import TINY, compose_train

RUN_OVERRIDES = ["generator=unet4", "generator.ngf=4"]


def make_run(root: Path, data_dir: Path, extra_state: dict | None = None) -> Path:
    """``root/.hydra/{config,overrides}.yaml`` and ``root/checkpoints/last.ckpt``; returns the checkpoint."""
    cfg = compose_train(RUN_OVERRIDES, root, data_dir)
    GlobalHydra.instance().clear()
    net = instantiate(cfg.generator)
    (root / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), root / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create([*TINY, *RUN_OVERRIDES]), root / ".hydra" / "overrides.yaml")
    ckpt = root / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    state = {"state_dict": {f"generator.{k}": v for k, v in net.state_dict().items()}, "hyper_parameters": {},
             "epoch": 0, "global_step": 1, **(extra_state or {})}
    torch.save(state, ckpt)
    return ckpt


@pytest.fixture
def run_ckpt(tmp_path, shared_data_dir) -> Path:
    return make_run(tmp_path / "run", shared_data_dir)
