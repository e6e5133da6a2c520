"""A resumed run continues in its own folder; a run folder that holds another run is refused.

``resume_dir`` (the ``vg3d.resume_dir`` resolver of ``conf/hydra``'s ``run.dir``): with
``ckpt_path=<run>/checkpoints/<file>.ckpt`` (or ``ckpt_path=last``, the newest ``last.ckpt`` of the
task) the run folder is that checkpoint's run folder, so checkpoints, media, ``train.log``,
``summary.json`` and ``csv/metrics.csv`` (``videogen3d.utils.loggers.CSVLogger`` appends) continue
there. ``hydra.run.dir=...`` on the command line still picks another folder (a fork of the run).

``RunDirGuard``, a Hydra callback, refuses a run folder already holding a run before Hydra writes into it.

Hydra writes ``<run dir>/.hydra/{config,hydra,overrides}.yaml`` before the task starts, so the check
in :func:`videogen3d.utils.config.check_run_dir` (metrics and checkpoints) comes too late to keep the
first run's ``.hydra`` files. ``on_run_start`` runs before that. Register it in ``conf/hydra``::

    callbacks:
      run_dir_guard:
        _target_: videogen3d.utils.run_dir.RunDirGuard
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from videogen3d.utils.config import ConfigError

__all__ = ["RunDirGuard", "holds_a_run", "keep_hydra_files", "resume_checkpoint", "resume_dir"]

log = logging.getLogger(__name__)


def holds_a_run(folder: Path) -> list[Path]:
    """What in ``folder`` shows a run was there: its metrics, checkpoints or saved config."""
    found = [p for p in (folder / "csv" / "metrics.csv", folder / ".hydra" / "config.yaml") if p.is_file()]
    ckpts = folder / "checkpoints"
    if ckpts.is_dir() and any(ckpts.glob("*.ckpt")):
        found.append(ckpts)
    return found


def _run_of(ckpt: Path) -> Path | None:
    """The run folder of ``<run>/checkpoints/<file>.ckpt`` (one that holds ``.hydra/config.yaml``), else None."""
    run = ckpt.parent.parent
    return run if ckpt.parent.name == "checkpoints" and (run / ".hydra" / "config.yaml").is_file() else None


def resume_checkpoint(ckpt_path: Any, log_dir: Any, task_name: Any) -> Path | None:
    """The checkpoint a run resumes: ``ckpt_path``, or for ``last`` the newest ``last.ckpt`` of the task
    (as :func:`videogen3d.utils.config.resolve_ckpt_path` finds it); None for a fresh run or none found."""
    if not ckpt_path:
        return None
    if str(ckpt_path) != "last":
        return Path(str(ckpt_path))
    from videogen3d.utils.config import _run_checkpoints

    found = _run_checkpoints(Path(str(log_dir)), str(task_name))
    return max(found, key=lambda p: p.stat().st_mtime) if found else None  # none: check_config says where it looked


def resume_dir(ckpt_path: Any, log_dir: Any, task_name: Any, default: str) -> str:
    """``hydra.run.dir``: the run folder of the checkpoint a run resumes (module docstring), else ``default``."""
    ckpt = resume_checkpoint(ckpt_path, log_dir, task_name)
    run = _run_of(ckpt) if ckpt is not None else None
    return str(run) if run is not None else default


# conf/hydra's run.dir; registered here (Hydra imports this module for RunDirGuard before it resolves the
# run folder, for train.py and synth.py alike) and by videogen3d.utils.loggers (compose in tests, notebooks)
if not OmegaConf.has_resolver("vg3d.resume_dir"):
    OmegaConf.register_new_resolver("vg3d.resume_dir", resume_dir)


class RunDirGuard(Callback):
    """``python train.py`` with a ``hydra.run.dir`` that holds a run stops before anything is written,
    unless the run resumes a checkpoint of that very folder; then the earlier part's ``.hydra`` files,
    which Hydra is about to overwrite, are kept in ``.hydra/part<N>/``.

    The refusal is a ``SystemExit`` naming the folder (exit status 1): Hydra turns an ``Exception`` raised
    by a callback into a warning and goes on, which would let the second run overwrite the first's files.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            self.check(config)
        except ConfigError as err:
            program = "train.py" if "ckpt_path" in config else "synth.py"
            raise SystemExit(f"{program}: error: {err}") from None

    def check(self, config: DictConfig) -> None:
        """Raise ``ConfigError`` for a folder holding another run; keep the ``.hydra`` files of a resumed one."""
        folder = Path(str(config.hydra.run.dir))
        held = holds_a_run(folder)
        if not held:
            return
        ckpt = config.get("ckpt_path")
        if ckpt == "last":
            ckpt = resume_checkpoint(ckpt, config.paths.log_dir, config.get("task_name", "train"))
        if ckpt and folder.resolve() in Path(str(ckpt)).resolve().parents:
            keep_hydra_files(folder)
            return
        way = (f"resume it with ckpt_path={folder / 'checkpoints' / 'last.ckpt'}" if "ckpt_path" in config else
               "leave hydra.run.dir out (synth.py keeps its checkpoints in work_dir, which a new run reuses)")
        raise ConfigError(f"hydra.run.dir {str(folder)!r} already holds a run "
                          f"({', '.join(str(p.relative_to(folder)) for p in held)}); pick another folder or {way}")


def keep_hydra_files(folder: Path) -> Path | None:
    """Copy ``folder/.hydra/*.yaml`` to ``folder/.hydra/part<N>/`` (N = 1, 2, ...: the part they belong to)."""
    hydra = folder / ".hydra"
    files = sorted(hydra.glob("*.yaml"))
    if not files:
        return None
    n = 1 + sum(1 for p in hydra.glob("part*") if p.is_dir())
    dest = hydra / f"part{n}"
    dest.mkdir()
    for f in files:
        shutil.copy2(f, dest / f.name)
    log.info("resuming in %s: the earlier part's config kept in %s", folder, dest)
    return dest
