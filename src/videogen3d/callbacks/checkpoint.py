"""Nothing lost on a stop: ``last.ckpt`` after every epoch and on every stop, signals turned into a
clean mid-epoch stop with a non-zero exit status.

Lightning 2.6's ``ModelCheckpoint(save_last=True)`` rewrites ``last.ckpt`` only when a top-k file is
written (with ``monitor=val/psnr``: only when the metric improves), so after three epochs it may
still hold epoch 0. :class:`ModelCheckpoint` here also writes it at every epoch end and when a run is
stopped by a signal or Ctrl+C.

Lightning's own ``_SignalConnector`` stops after the current batch on SIGTERM but saves nothing and
exits with status 0 (``SIGTERMException`` is a bare ``SystemExit``). :class:`StopOnSignal` routes
SIGINT and SIGUSR1 to the same stop (chaining to Lightning's SLURM requeue handler where there is
one) and sets the exit status to 128 + the signal number; the checkpoint written on the way out is
a clean mid-epoch state (the batch in progress was completed). The datamodule's state
(``VideoDataModule.state_dict``) makes a resume continue with the next batch of the same order.

A ``trainer.max_steps`` stop in the middle of an epoch is a stop too: Lightning ends the epoch there and
records it as processed, so a resume with a later limit would skip the rest of that epoch (and, on the
last epoch, train nothing). Checkpoints written at such a stop record the epoch as still open, the
state a signal stop leaves, so the resume continues with the next batch.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint as _ModelCheckpoint
from pytorch_lightning.loops.utilities import _is_max_limit_reached
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

__all__ = ["ModelCheckpoint", "StopOnSignal", "STOP_SIGNALS"]

STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")


def _is_stop(exception: BaseException) -> bool:
    return isinstance(exception, (KeyboardInterrupt, SIGTERMException))


def _stopped_mid_epoch_by_max_steps(trainer: pl.Trainer) -> bool:
    """True when ``max_steps`` ended training before the current epoch's batches were all seen."""
    epoch_loop = trainer.fit_loop.epoch_loop
    return (trainer.state.fn == "fit" and _is_max_limit_reached(epoch_loop.global_step, trainer.max_steps)
            and not epoch_loop._num_ready_batches_reached())


def reopen_epoch(checkpoint: dict[str, Any]) -> None:
    """Record the checkpoint's current epoch as started but not processed: a mid-epoch state, as the
    checkpoint of a signal stop has it (Lightning's ``_FitLoop`` then restarts mid-epoch)."""
    progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]
    for part in ("total", "current"):
        counts = progress[part]
        counts["processed"] = counts["completed"] = counts["started"] - 1


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

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(trainer, pl_module, checkpoint)
        if "loops" in checkpoint and _stopped_mid_epoch_by_max_steps(trainer):
            reopen_epoch(checkpoint)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)
        if not _is_stop(exception) or not self.save_last or trainer.sanity_checking or trainer.fast_dev_run:
            return
        if self._last_global_step_saved == trainer.global_step and self.last_model_path:
            return  # already saved at this step
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        log.warning("stopped (%s): saved %s at epoch %d, step %d", type(exception).__name__, self.last_model_path,
                    trainer.current_epoch, trainer.global_step)


class StopOnSignal(pl.Callback):
    """SIGTERM / SIGINT / SIGUSR1 -> Lightning's own graceful stop after the current batch, then exit
    ``128 + signum``.

    Lightning's ``_SignalConnector`` already stops after the batch on SIGTERM (``SIGTERMException``
    raised at the batch's end, once it is complete); this callback routes SIGINT and SIGUSR1 to the
    same flag, chains to a SIGUSR1 handler already installed (Lightning's SLURM auto-requeue) and sets
    the exception's exit status, which Lightning leaves at 0. A second SIGINT while stopping falls back
    to Python's default (KeyboardInterrupt), so Ctrl+C twice always gets out.
    """

    def __init__(self, signals: list[str] | tuple[str, ...] = STOP_SIGNALS):
        unknown = [s for s in signals if s not in STOP_SIGNALS]
        if unknown:
            raise ValueError(f"signals {unknown}: expected some of {list(STOP_SIGNALS)}")
        self.signals = [getattr(signal, s) for s in signals if hasattr(signal, s)]
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._trainer: pl.Trainer | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum
            log.warning("received %s: stopping after the current training batch", signal.Signals(signum).name)
        if self._trainer is not None:
            self._trainer._signal_connector.received_sigterm = True  # Lightning's own stop flag
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl+C interrupts at once
        previous = self._previous.get(signum)
        if signum != signal.SIGINT and callable(previous):
            previous(signum, frame)  # Lightning's SIGTERM notifier, its SLURM requeue on SIGUSR1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread
        self.received, self._trainer = None, trainer
        for signum in self.signals:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        self._previous, self._trainer = {}, None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException) and exception.code in (None, 0):
            exception.code = 128 + (self.received or signal.SIGTERM)  # a scheduler must see a stop, not success
