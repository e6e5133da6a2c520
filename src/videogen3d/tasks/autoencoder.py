"""tempCAE training task (seed 003, §3.4): MSE over every CS-frame window of the training clips.

The network (``net``, a built ``TempCAE``) and the optimizer (a factory ``params -> Optimizer``) are
injected, built from ``conf/synth/autoencoder/*.yaml`` by the synthesis stages.

The seed trains tempCAE "on the entire dataset" (§4.3: faint objects of other classes show up
in generated videos for that reason); labels are ignored here. ``noise_std > 0`` (our option,
off by default) trains a denoising auto-encoder: corrupted input windows
(:func:`videogen3d.data.noise.corrupt`), the clean windows as the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from videogen3d.data.noise import check_corruption, corrupt
from videogen3d.models.tempcae import clip_windows
from videogen3d.tasks.classifier import OptimizerFactory, with_schedule

__all__ = ["TempCAEModule"]


class TempCAEModule(pl.LightningModule):
    """Logs ``train/mse`` and ``val/mse`` (the per-window decoded error, eq. 7, mean over windows)."""

    def __init__(self, net: nn.Module, cs: int, clip_len: int, frame_size: Sequence[int],
                 optimizer: OptimizerFactory | None = None, noise_std: float = 0.0, schedule: str = "constant",
                 windows_per_clip: int = 0, corruption: str = "gaussian") -> None:
        super().__init__()
        check_corruption(corruption, noise_std, "autoencoder", "noise_std")
        self.save_hyperparameters(ignore=["net", "optimizer"], logger=False)
        if getattr(net, "cs", cs) != cs:
            raise ValueError(f"autoencoder: the network's windows have CS={net.cs} frames, the task's cs={cs}")
        self.net = net
        self.optimizer_factory = optimizer or partial(torch.optim.Adam, lr=1e-3)

    @property
    def geometry(self) -> dict[str, Any]:
        hp = self.hparams
        return {"cs": int(hp.cs), "clip_len": int(hp.clip_len), "frame_size": [int(v) for v in hp.frame_size]}

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Per-video decoded error ``(B,)`` of ``video (B, C, T, H, W)``."""
        return self.net.window_error(video)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        noise, k = float(self.hparams.get("noise_std", 0.0)), int(self.hparams.get("windows_per_clip", 0))
        if stage == "train" and (noise > 0 or k > 0):
            video = batch["target"]
            win = clip_windows(video, self.net.cs)  # (B*n, C, CS, H, W)
            n = win.shape[0] // video.shape[0]
            if 0 < k < n:  # a random k of each clip's n windows (cheaper steps, same expected loss)
                pick = torch.rand(video.shape[0], n, device=win.device).argsort(1)[:, :k]
                win = win[(pick + n * torch.arange(video.shape[0], device=win.device)[:, None]).flatten()]
            kind = str(self.hparams.get("corruption", "gaussian"))
            inp = corrupt(win, kind, noise, "autoencoder") if noise > 0 else win  # denoising option (ours)
            loss = (self.net(inp) - win).pow(2).mean()
        else:
            loss = self(batch["target"]).mean()
        self.log(f"{stage}/mse", loss, prog_bar=True, batch_size=len(batch["target"]))
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self):
        opt = self.optimizer_factory(params=self.parameters())
        return with_schedule(opt, self.hparams.get("schedule", "constant"), self.trainer)
