"""A test-only callback that sends a real signal to this process after a given training batch."""

from __future__ import annotations

import os
import signal

import pytorch_lightning as pl


class SignalAfterBatch(pl.Callback):
    """``os.kill(os.getpid(), signum)`` once, after the ``batches``-th training batch of the run."""

    def __init__(self, batches: int, signum: str = "SIGTERM"):
        self.batches, self.signum, self.seen = int(batches), getattr(signal, signum), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen += 1
        if self.seen == self.batches:
            os.kill(os.getpid(), self.signum)
