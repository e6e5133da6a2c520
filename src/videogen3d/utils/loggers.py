"""Logger factories that need a decision at run time."""

from __future__ import annotations

import csv
import hashlib
import logging
import netrc
import os
from typing import Any

from lightning_fabric.loggers.logger import rank_zero_experiment
from omegaconf import OmegaConf
from pytorch_lightning.loggers import CSVLogger as _CSVLogger
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

log = logging.getLogger(__name__)


def _suffix(text: str | None, sep: str = "_", limit: int = 100) -> str:
    """``sep + text``, or nothing for an empty text: run and job names that append the overrides.

    A text past ``limit`` characters is cut and given a hash of the whole, so a long override list
    still makes a valid folder name (255 bytes at most) that differs between jobs.
    """
    if not text:
        return ""
    if len(text) > limit:
        text = f"{text[:limit - 9]}~{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return f"{sep}{text}"


# `${vg3d.suffix:${hydra.job.override_dirname}}` in conf/hydra and conf/logger: Hydra resolves those
# keys after train.py imported this package, so the resolver is registered by then.
if not OmegaConf.has_resolver("vg3d.suffix"):
    OmegaConf.register_new_resolver("vg3d.suffix", _suffix)
import videogen3d.utils.run_dir  # noqa: E402,F401  registers vg3d.resume_dir (conf/hydra's run.dir)


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` is continued, not deleted."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = sorted(next(csv.reader(f), []))  # a new key rewrites the header, rows kept
            log.info("continuing %s (%d columns)", self.metrics_file_path, len(self.metrics_keys))


class CSVLogger(_CSVLogger):
    """``pytorch_lightning.loggers.CSVLogger`` that appends to the run folder's ``metrics.csv``.

    Lightning's deletes an existing file when the logger starts. Here a run folder holding a
    ``metrics.csv`` is accepted only for a resume of that folder's own checkpoint (``check_run_dir``,
    ``RunDirGuard``), so an existing file is the same run's earlier part: the resumed part's rows follow
    its rows in one file (steps continue from the checkpoint's).
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def wandb_credentials_present() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_logger(offline: bool | None = None, init_timeout: float = 60.0, **kwargs: Any) -> WandbLogger:
    """A ``WandbLogger`` that goes offline by itself when there is no API key or WANDB_MODE says so.

    Offline runs are written under ``save_dir/wandb`` and can be uploaded later with ``wandb sync``.
    Online, ``init_timeout`` bounds how long ``wandb.init`` may wait for the server (a bad key or no
    network then fails with W&B's own error instead of waiting at "setting up run").
    """
    import wandb

    if init_timeout <= 0:
        raise ValueError(f"logger.wandb.init_timeout={init_timeout} must be > 0 seconds")
    kwargs.setdefault("settings", wandb.Settings(init_timeout=float(init_timeout)))
    if offline is None:
        mode = os.environ.get("WANDB_MODE", "")
        offline = mode in ("offline", "dryrun", "disabled") or not wandb_credentials_present()
        if offline:
            log.info("W&B: no API key found (or WANDB_MODE=%s); logging offline", mode or "unset")
    return WandbLogger(offline=offline, **kwargs)


def log_final(loggers: list[Any], results: dict[str, Any], step: int) -> None:
    """Send a run's end results (final val metrics, test metrics, baselines) to every logger and the log file.

    Per-epoch metrics are already in the loggers; these are the values the terminal summary prints,
    under ``final/<key>`` (val and train metrics as they ended) or their own key (``baseline/*``,
    ``test/*``), so a CSV, TensorBoard or W&B reader sees the baselines beside the model. TensorBoard gets
    them as the metrics of its HParams tab, beside the run's config, so runs can be compared there.
    """
    metrics: dict[str, float] = {}
    for key, value in results.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or key.startswith("_"):
            continue
        name = key if key.split("/")[0] in ("baseline", "test", "params") else f"final/{key}"
        metrics[name] = float(value)
    for key in sorted(metrics):
        log.info("final %s = %.6g", key, metrics[key])
    for lg in loggers:
        try:
            if isinstance(lg, TensorBoardLogger):
                # the config it was given (train.py's, the module's hparams) with the end results: the
                # HParams plugin's data; log_hyperparams logs the metrics as scalars too
                lg.log_hyperparams(lg.hparams, metrics=metrics, step=step)
            else:
                lg.log_metrics(metrics, step=step)
            if isinstance(lg, WandbLogger):
                lg.experiment.summary.update(metrics)  # the run table's columns in the W&B dashboard
            lg.save()
        except ValueError as err:
            # ddp_spawn: the CSV was written by a child process whose columns this process's logger
            # does not know; the values are still in the log file and summary.json
            log.warning("final metrics not sent to %s: %s", type(lg).__name__, err)
