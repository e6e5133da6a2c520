"""Nothing lost on a stop: ``last.ckpt`` after every epoch and on every stop, signals turned into a
clean mid-epoch stop with a non-zero exit status.

Lightning 2.6's ``ModelCheckpoint(save_last=True)`` rewrites ``last.ckpt`` only when a top-k file is
written (with ``monitor=val/psnr``: only when the metric improves), so after three epochs it may
still hold epoch 0. :class:`ModelCheckpoint` here also writes it at every epoch end and when a run is
stopped by a signal or Ctrl+C.

Lightning's own ``_SignalConnector`` notes SIGTERM but, on one process, acts on it only at the end
of the epoch and then exits with status 0 (``SIGTERMException`` is a bare ``SystemExit``).
:class:`StopOnSignal` handles SIGTERM, SIGINT and SIGUSR1 (chaining to a handler already installed
for SIGUSR1, e.g. Lightning's SLURM requeue) and raises :class:`TrainingStopped` at the start of the
next training batch, once the previous one is complete, so the checkpoint written on the way out is
a clean mid-epoch state; the exit status is 128 + the signal number. The datamodule's state
(``VideoDataModule.state_dict``) makes a resume continue with the next batch of the same order.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint as _ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

__all__ = ["ModelCheckpoint", "StopOnSignal", "TrainingStopped", "STOP_SIGNALS"]

STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")


class TrainingStopped(SystemExit):
    """Training stopped by a signal; ``code`` is ``128 + signum`` (the shell's convention)."""

    def __init__(self, signum: int):
        super().__init__(128 + int(signum))
        self.signum = int(signum)

    def __str__(self) -> str:
        return f"training stopped by {signal.Signals(self.signum).name}; exit status {self.code}"


def _is_stop(exception: BaseException) -> bool:
    return isinstance(exception, (TrainingStopped, KeyboardInterrupt, SIGTERMException))


class ModelCheckpoint(_ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` whose ``last.ckpt`` (``save_last=True``) is the last state: written
    at every epoch end whether or not the monitored metric improved, and when training is stopped."""

    def _save_last_now(self, trainer: pl.Trainer) -> None:
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_now(trainer)  # no-op when the parent already saved at this step

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_now(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)
        if not _is_stop(exception) or not self.save_last or trainer.sanity_checking or trainer.fast_dev_run:
            return
        if self._last_global_step_saved == trainer.global_step and self.last_model_path:
            return  # already saved at this step
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        log.warning("%s: saved %s at epoch %d, step %d", exception, self.last_model_path, trainer.current_epoch,
                    trainer.global_step)


class StopOnSignal(pl.Callback):
    """SIGTERM / SIGINT / SIGUSR1 -> stop before the next training batch, save, exit ``128 + signum``.

    A second SIGINT while stopping falls back to Python's default (KeyboardInterrupt), so Ctrl+C twice
    always gets out.
    """

    def __init__(self, signals: list[str] | tuple[str, ...] = STOP_SIGNALS):
        unknown = [s for s in signals if s not in STOP_SIGNALS]
        if unknown:
            raise ValueError(f"signals {unknown}: expected some of {list(STOP_SIGNALS)}")
        self.signals = [getattr(signal, s) for s in signals if hasattr(signal, s)]
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.received is None
        self.received = signum if first else self.received
        log.warning("received %s: stopping before the next training batch", signal.Signals(signum).name)
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl+C interrupts at once
        previous = self._previous.get(signum)
        if signum == getattr(signal, "SIGUSR1", None) and callable(previous):
            previous(signum, frame)  # e.g. Lightning's SLURM auto-requeue

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread
        self.received = None
        for signum in self.signals:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        self._previous = {}

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self.received is not None:
            raise TrainingStopped(self.received)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.received is not None:  # the signal came during the last batch: still a stop, not a finish
            raise TrainingStopped(self.received)
