"""A tiny multirun made in seconds, laid out as ``python train.py -m`` lays one out (conf/hydra).

Job 0 is a real run (experiment A-5, trained for 2 epochs at the TINY geometry through ``train``);
job 1 is a job that failed at once (``optim.generator.lr=-1``, refused before any data is rendered):
its ``.hydra`` files and the ``summary.json`` with status ``failed`` that ``train`` wrote, nothing else. The report
and the trial-grid notebook read both (the slow test in tests/report makes the same through Hydra).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from videogen3d.train import train
from videogen3d.utils.compose import compose_train
from videogen3d.utils.config import ConfigError

GOOD = ["experiment=A-5", "generator.ngf=4", "trainer.max_epochs=2", "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1", "callbacks.lr_monitor=null", "num_samples=2",
        "callbacks.model_summary=null", "callbacks.progress_bar=null"]


def _save_hydra_files(cfg, job: Path, overrides: list[str]) -> None:
    """``.hydra/{config,hydra,overrides}.yaml`` as ``@hydra.main`` writes them (compose does not)."""
    (job / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), job / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create({"hydra": {"runtime": {"choices": dict(cfg.hydra.runtime.choices)}}}),
                   job / ".hydra" / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")


def make_tiny_multirun(root: Path, data_dir: Path) -> Path:
    """``root/0_A-5_seed42`` (finished) and ``root/1_A-5_seed42_lr-1`` (failed); returns ``root``."""
    good = root / "0_A-5_seed42"
    cfg = compose_train(GOOD, good, data_dir)
    try:
        _save_hydra_files(cfg, good, GOOD)
        results = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert results["epochs"] == 2

    bad = root / "1_A-5_seed42_optim.generator.lr=-1"
    cfg = compose_train([*GOOD, "optim.generator.lr=-1"], bad, data_dir)
    try:
        _save_hydra_files(cfg, bad, [*GOOD, "optim.generator.lr=-1"])
        with pytest.raises(ConfigError, match="optim.generator.lr"):
            train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert json.loads((bad / "summary.json").read_text())["status"] == "failed"
    return root
