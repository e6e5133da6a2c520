"""A Hydra callback that refuses a run folder already holding a run before Hydra writes into it.

Hydra writes ``<run dir>/.hydra/{config,hydra,overrides}.yaml`` before the task starts, so the check
in :func:`videogen3d.utils.config.check_run_dir` (metrics and checkpoints) comes too late to keep the
first run's ``.hydra`` files. ``on_run_start`` runs before that. Register it in ``conf/hydra``::

    callbacks:
      run_dir_guard:
        _target_: videogen3d.callbacks.run_dir.RunDirGuard
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from videogen3d.utils.config import ConfigError

__all__ = ["RunDirGuard", "holds_a_run"]


def holds_a_run(folder: Path) -> list[Path]:
    """What in ``folder`` shows a run was there: its metrics, checkpoints or saved config."""
    found = [p for p in (folder / "csv" / "metrics.csv", folder / ".hydra" / "config.yaml") if p.is_file()]
    ckpts = folder / "checkpoints"
    if ckpts.is_dir() and any(ckpts.glob("*.ckpt")):
        found.append(ckpts)
    return found


class RunDirGuard(Callback):
    """``python train.py`` with a ``hydra.run.dir`` that holds a run stops before anything is written,
    unless the run resumes a checkpoint of that very folder."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.run.dir))
        held = holds_a_run(folder)
        ckpt = config.get("ckpt_path")
        if not held or (ckpt and folder.resolve() in Path(str(ckpt)).resolve().parents):
            return
        raise ConfigError(f"hydra.run.dir {str(folder)!r} already holds a run "
                          f"({', '.join(str(p.relative_to(folder)) for p in held)}); pick another folder or resume "
                          f"it with ckpt_path={folder / 'checkpoints' / 'last.ckpt'}")
