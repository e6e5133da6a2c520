"""Helpers the benchmarks share: the repository's real config, composed and optionally shrunk."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from videogen3d.utils.compose import compose_train

__all__ = ["compose", "to_device", "data_dir", "build_datamodule"]


def data_dir(path: str | None) -> Path:
    """The data cache: ``--data-dir``, else the repository's default (``VIDEOGEN3D_DATA`` or ``data/``)."""
    import os

    return Path(path or os.environ.get("VIDEOGEN3D_DATA", "data"))


def compose(overrides: Sequence[str], data: Path, config_name: str = "train", tiny: bool = False) -> DictConfig:
    """``conf/<config_name>.yaml`` with ``overrides`` (``tiny`` adds the test suite's tiny geometry)."""
    out = Path(tempfile.mkdtemp(prefix="videogen3d-bench-"))
    return compose_train(list(overrides), out / "run", data, tiny=tiny, config_name=config_name)


def build_datamodule(cfg: DictConfig, **kwargs) -> pl.LightningDataModule:
    dm = instantiate(cfg.dataset, _recursive_=True, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
