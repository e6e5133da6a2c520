"""``ckpt_path=last`` finds the newest last.ckpt of the same task, in its runs and in multirun jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from videogen3d.utils.config import ConfigError, resolve_ckpt_path


def _job(folder: Path, task: str, mtime: float) -> Path:
    ckpt = folder / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"x")
    os.utime(ckpt, (mtime, mtime))
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text(f"task_name: {task}\n")
    return ckpt


def _cfg(log_dir: Path, task: str):
    return OmegaConf.create({"ckpt_path": "last", "task_name": task,
                             "paths": {"log_dir": str(log_dir), "output_dir": str(log_dir / "new")}})


def test_newest_of_the_same_task_across_runs_and_multiruns(tmp_path):
    run = _job(tmp_path / "A-1" / "runs" / "r1", "A-1", 1000)
    job = _job(tmp_path / "multiruns" / "2026-01-01_00-00-00" / "0_A-1_seed42", "A-1", 2000)
    _job(tmp_path / "multiruns" / "2026-01-01_00-00-00" / "1_A-5_seed42", "A-5", 3000)  # another task: newer
    cfg = _cfg(tmp_path, "A-1")
    resolve_ckpt_path(cfg)
    assert Path(cfg.ckpt_path) == job
    os.utime(run, (4000, 4000))
    cfg = _cfg(tmp_path, "A-1")
    resolve_ckpt_path(cfg)
    assert Path(cfg.ckpt_path) == run


def test_none_found_names_where_it_looked(tmp_path):
    with pytest.raises(ConfigError, match=r"ckpt_path=last: no last.ckpt under .*train.*multiruns"):
        resolve_ckpt_path(_cfg(tmp_path, "train"))
