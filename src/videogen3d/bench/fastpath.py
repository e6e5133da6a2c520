"""Fast-path switches for training that the ``step`` benchmark measures: channels_last_3d, torch.compile, threads.

``FastPath`` is a Lightning callback: at ``setup`` it puts the task's networks (``generator`` and,
for the GAN, ``disc``) in ``channels_last_3d`` memory format and/or compiles them in place
(``nn.Module.compile``, so state-dict keys, checkpoints and ``videogen3d translate`` are unchanged).
Both are off unless asked for: on a CPU the ``step`` rows decide; on a GPU they were not measured
in this work (no GPU was available), see README "Performance". ``cpu_threads`` picks the intra-op
thread count for a CPU run: torch's default (one per core) unless the machine is already busier
than its cores, where one thread avoids OpenMP threads waiting on each other (``step --threads-list``).
"""

from __future__ import annotations

import os

import pytorch_lightning as pl
import torch

__all__ = ["FastPath", "cpu_threads", "NETWORKS"]

NETWORKS = ("generator", "disc")


class FastPath(pl.Callback):
    """``channels_last``: NDHWC weights (convolutions then run in that layout); ``compile``: ``torch.compile``."""

    def __init__(self, channels_last: bool = False, compile: bool = False, compile_backend: str = "inductor",
                 compile_mode: str | None = None) -> None:
        self.channels_last, self.compile = bool(channels_last), bool(compile)
        self.compile_backend, self.compile_mode = compile_backend, compile_mode
        self.applied: list[str] = []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for name in NETWORKS:
            net = getattr(pl_module, name, None)
            if not isinstance(net, torch.nn.Module) or name in self.applied:
                continue
            if self.channels_last:
                net.to(memory_format=torch.channels_last_3d)
            if self.compile:
                net.compile(backend=self.compile_backend, mode=self.compile_mode)
            self.applied.append(name)


def cpu_threads(cores: int | None = None, load: float | None = None) -> int:
    """Threads for torch's intra-op pool on a CPU: all cores, or 1 when the 1-minute load average already exceeds the cores."""
    cores = cores or os.cpu_count() or 1
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return 1 if load > cores else cores
