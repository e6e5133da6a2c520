"""W&B online with a bad key or no network must fail in bounded time: wandb.init gets a timeout."""

from __future__ import annotations

import pytest

from videogen3d.utils.loggers import wandb_logger


def test_wandb_init_timeout_reaches_wandb_settings(tmp_path):
    logger = wandb_logger(offline=True, init_timeout=7, project="t", save_dir=str(tmp_path))
    assert logger._wandb_init["settings"].init_timeout == 7.0


def test_a_non_positive_timeout_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"logger.wandb.init_timeout=0"):
        wandb_logger(offline=True, init_timeout=0, save_dir=str(tmp_path))
