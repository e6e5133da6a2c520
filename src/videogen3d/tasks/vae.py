"""Clip VAE training task: the generator of the improved synthesis (ours; see :mod:`videogen3d.models.clip_vae`).

Loss per clip: the mean squared reconstruction error plus ``beta`` times the KL divergence of the
posterior from N(0, I), divided by the clip's pixel count (both terms per pixel). With a Gaussian
likelihood of std ``s`` the ELBO is this loss with ``beta = 2 s^2``; a small ``beta`` keeps the small
sprites sharp. Labels are ignored (the tempCAE's rule: trained on the whole main partition).

``foreground_weight`` (ours): the moving objects cover a few per cent of a clip's pixels and the white
background the rest, so a plain mean squared error lets the network draw every sprite as a grey blob of the
right size. With ``foreground_weight = k`` a pixel whose target is not white (any channel below
``FOREGROUND_BELOW`` on the [-1, 1] range) counts ``1 + k`` times as much as a background pixel, the weights
divided by their batch mean so that the loss keeps the scale that ``beta`` is set against
(:func:`reconstruction_weights`). Measured on the cpu scale's clip VAE (docs/seed003_experiments.md): with the decoder's
full-resolution head (``out_conv: true``) k = 10 keeps the sprites' colours, which k = 0 draws grey, and lowers
the held-out error on sprite pixels by 40 %; without that head colour is kept at k = 0 too, and synthesis
through the k = 10 decoder was no better on held-out check classifiers and mixed colours within a sprite, so
the default is 0 (off).

The codes of real clips do not fill N(0, I) when ``beta`` is small, so the module keeps the
distribution they do fill: the mean and the Cholesky factor of the covariance of the posterior means
over the last training epoch (buffers ``code_mean``, ``code_chol``, saved in the checkpoint).
Synthesis optimises a whitened code ``u`` and decodes ``code_mean + code_chol @ u``, so its code
prior ``|u|^2 / 2`` is that Gaussian's negative log-density (:meth:`decode_whitened`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from videogen3d.tasks.classifier import OptimizerFactory, with_schedule

__all__ = ["ClipVAEModule", "reconstruction_weights", "FOREGROUND_BELOW"]

FOREGROUND_BELOW = 0.9
"""A pixel is foreground when any channel of its target is below this value (white is 1 on [-1, 1])."""


def reconstruction_weights(x: torch.Tensor, foreground_weight: float) -> torch.Tensor:
    """``(B, C, T, H, W)`` targets -> ``(B, 1, T, H, W)`` weights of the squared error, mean 1 over the batch:
    ``1 + foreground_weight`` where the target is not white, 1 elsewhere, divided by their mean."""
    fg = (x < FOREGROUND_BELOW).any(dim=1, keepdim=True).to(x.dtype)
    w = 1 + float(foreground_weight) * fg
    return w / w.mean()


class ClipVAEModule(pl.LightningModule):
    """Logs ``train/mse`` (weighted by ``foreground_weight``), ``train/kl`` (per pixel), ``train/loss`` and
    ``val/mse`` (the posterior mean's plain reconstruction error). A network whose ``forward`` sets a tensor
    ``aux_loss`` (:class:`~videogen3d.models.sprite_vae.SpriteClipVAE`) has it added to the loss, logged as
    ``train/aux``."""

    def __init__(self, net: nn.Module, clip_len: int, frame_size: Sequence[int],
                 optimizer: OptimizerFactory | None = None, beta: float = 0.002, schedule: str = "constant",
                 foreground_weight: float = 0.0) -> None:
        super().__init__()
        if beta < 0:
            raise ValueError(f"vae: beta={beta} must be >= 0")
        if isinstance(foreground_weight, bool) or not isinstance(foreground_weight, (int, float)) \
                or not foreground_weight >= 0:
            raise ValueError(f"vae: foreground_weight must be a number >= 0, got {foreground_weight!r}")
        self.save_hyperparameters(ignore=["net", "optimizer"], logger=False)
        if (net.clip_len, list(net.frame_size)) != (int(clip_len), [int(v) for v in frame_size]):
            raise ValueError(f"vae: the network is built for {net.clip_len} frames of {list(net.frame_size)}, the task "
                             f"for {clip_len} frames of {list(frame_size)}")
        self.net = net
        self.optimizer_factory = optimizer or partial(torch.optim.Adam, lr=1e-3)
        d = int(net.latent_dim)
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_chol", torch.eye(d))
        self._sums: list[torch.Tensor] | None = None

    @property
    def geometry(self) -> dict[str, Any]:
        hp = self.hparams
        return {"clip_len": int(hp.clip_len), "frame_size": [int(v) for v in hp.frame_size]}

    @property
    def latent_dim(self) -> int:
        return int(self.net.latent_dim)

    def decode_whitened(self, u: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` whitened codes -> clips: ``decode(code_mean + code_chol @ u)``."""
        return self.net.decode(self.code_mean + u @ self.code_chol.T)

    def on_train_epoch_start(self) -> None:
        d = self.latent_dim
        self._sums = [torch.zeros((), dtype=torch.float64, device=self.device),
                      torch.zeros(d, dtype=torch.float64, device=self.device),
                      torch.zeros(d, d, dtype=torch.float64, device=self.device)]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x = batch["target"]
        recon, mean, logvar = self.net(x)
        err = (recon.float() - x.float()).pow(2)
        k = float(self.hparams.get("foreground_weight", 0.0))
        mse = (err * reconstruction_weights(x.float(), k)).mean() if k > 0 else err.mean()
        kl = -0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).sum(1).mean() / x[0].numel()
        loss = mse + float(self.hparams.beta) * kl
        aux = getattr(self.net, "aux_loss", None)  # a network's own term (SpriteClipVAE: its path's tracking term)
        if aux is not None:
            self.net.aux_loss = None
            loss = loss + aux
            self.log("train/aux", aux, batch_size=len(x))
        if self._sums is not None:
            m = mean.detach().double()
            self._sums[0] += len(m)
            self._sums[1] += m.sum(0)
            self._sums[2] += m.T @ m
        n = len(x)
        self.log("train/mse", mse, prog_bar=True, batch_size=n)
        self.log("train/kl", kl, batch_size=n)
        self.log("train/loss", loss, batch_size=n)
        return loss

    def on_train_epoch_end(self) -> None:
        """The code distribution of the epoch's clips -> ``code_mean``, ``code_chol``."""
        if self._sums is None or self._sums[0] < 2:
            return
        n, s, ss = self._sums
        mean = s / n
        cov = (ss - n * torch.outer(mean, mean)) / (n - 1)
        cov = cov + 1e-4 * cov.diagonal().mean().clamp_min(1e-8) * torch.eye(len(mean), dtype=cov.dtype, device=cov.device)
        self.code_mean.copy_(mean.float())
        self.code_chol.copy_(torch.linalg.cholesky(cov).float())

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        x = batch["target"]
        self.log("val/mse", (self.net.reconstruct(x) - x).pow(2).mean(), prog_bar=True, batch_size=len(x))

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        x = batch["target"]
        self.log("test/mse", (self.net.reconstruct(x) - x).pow(2).mean(), batch_size=len(x))

    def configure_optimizers(self):
        opt = self.optimizer_factory(params=self.parameters())
        return with_schedule(opt, self.hparams.get("schedule", "constant"), self.trainer)
