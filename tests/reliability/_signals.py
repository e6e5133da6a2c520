"""Test-only callbacks: one sends a real signal to this process after a given training batch; one paces the
training after a given batch, so that a signal sent from outside lands mid-epoch."""

from __future__ import annotations

import os
import signal
import time

import pytorch_lightning as pl


class SignalAfterBatch(pl.Callback):
    """``os.kill(os.getpid(), signum)`` once, after the ``batches``-th training batch of the run."""

    def __init__(self, batches: int, signum: str = "SIGTERM"):
        self.batches, self.signum, self.seen = int(batches), getattr(signal, signum), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen += 1
        if self.seen == self.batches:
            os.kill(os.getpid(), self.signum)


class PaceAfterBatch(pl.Callback):
    """After the ``batches``-th training batch, print ``marker`` (flushed) and from then on sleep ``seconds`` after
    every batch: a test that signals the process from outside when it reads the marker then lands mid-epoch however
    fast the machine trains."""

    def __init__(self, batches: int, seconds: float, marker: str = "PACE: batches done"):
        self.batches, self.seconds, self.marker, self.seen = int(batches), float(seconds), str(marker), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen += 1
        if self.seen == self.batches:
            print(self.marker, flush=True)
        if self.seen >= self.batches:
            time.sleep(self.seconds)
