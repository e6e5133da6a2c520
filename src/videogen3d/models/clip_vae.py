"""A clip-level variational auto-encoder: the generative prior of the improved synthesis (ours, not seed 003's).

Seed 003 optimises a video's pixels under a classifier and a tempCAE prior (eq. 8). Its tempCAE codes
4-frame windows with a spatial code map, so almost any video decodes to itself and the prior cannot keep
the classifier's gradient from drawing patterns that fit the classifier alone. Activation maximisation
through a generator network (Nguyen et al. 2016, "Synthesizing the preferred inputs for neurons in
neural networks via deep generator networks", DGN-AM) optimises a small code instead, so that every
step's video is one that the generator can make. This module is that generator for clips: one code of
``latent_dim`` numbers per clip, decoded to ``(C, T, H, W)`` in [-1, 1].

The clip's frames are folded into channels (``C*T`` input channels, as the tempCAE folds its window),
and the encoder and decoder are 2D convolutions, several times faster on a CPU than 3D ones: each
level halves H and W; a linear layer maps the last level's map to the code's mean and log-variance.

``out_conv`` chooses the decoder's last layer. ``True``: the last transposed convolution gives
``widths[0]`` feature maps at full resolution and a 3x3 convolution maps them to the ``C*T`` output
channels. ``False``: the last transposed convolution gives the ``C*T`` channels itself, with no
full-resolution feature maps. Measured on the 32x24 moving objects, 3300 steps each (docs/seed003_experiments.md):
``False`` reconstructs the sprites' colour and the airplanes' wings, which ``True`` draws as grey
diamonds (held-out MSE 0.0156 at widths 64-128-128 vs 0.0189 for ``True`` at 32-64-128), and its
training step costs 0.57x as much as ``True``'s at the same widths.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import check_flag, check_geometry
from videogen3d.utils.video import frame_hw

__all__ = ["ClipVAE"]


def _norm(c: int) -> nn.Module:
    return nn.GroupNorm(min(8, c), c)


class ClipVAE(nn.Module):
    """``(B, C, T, H, W)`` clip <-> ``(B, latent_dim)`` code. ``encode`` gives ``(mean, logvar)``;
    ``decode`` a clip in [-1, 1] (``tanh``); ``forward`` samples a code and decodes it."""

    def __init__(self, clip_len: int = 16, frame_size: int | Sequence[int] = (96, 128), in_channels: int = 3, *,
                 latent_dim: int = 32, widths: Sequence[int] = (64, 128, 128), out_conv: bool = True) -> None:
        super().__init__()
        h, w = frame_hw(frame_size)
        widths = [int(v) for v in widths]
        if latent_dim < 1 or not widths or min(widths) < 1:
            raise ValueError(f"ClipVAE needs latent_dim >= 1 and positive widths, got {latent_dim} and {widths}")
        check_flag("ClipVAE out_conv", out_conv)
        n = len(widths)
        check_geometry(f"ClipVAE({n} levels)", int(clip_len), (h, w), 1, 2 ** n)
        self.clip_len, self.frame_size, self.in_channels = int(clip_len), (h, w), int(in_channels)
        self.latent_dim, self.out_conv = int(latent_dim), out_conv
        c = self.in_channels * self.clip_len
        enc: list[nn.Module] = []
        for i, (a, b) in enumerate(zip([c] + widths[:-1], widths)):
            enc += [nn.Conv2d(a, b, 3, 2, 1)] + ([_norm(b)] if i else []) + [nn.SiLU()]
        self.encoder = nn.Sequential(*enc)
        self.code_shape = (widths[-1], h // 2 ** n, w // 2 ** n)
        flat = widths[-1] * (h // 2 ** n) * (w // 2 ** n)
        self.to_code = nn.Linear(flat, 2 * self.latent_dim)
        self.from_code = nn.Linear(self.latent_dim, flat)
        self.decoder = self._build_decoder(widths, c)

    def _build_decoder(self, widths: list[int], out_channels: int) -> nn.Sequential:
        """The last level's map -> ``out_channels`` maps at full resolution (``out_conv`` chooses the last layer)."""
        dec: list[nn.Module] = [nn.SiLU()]
        rev = widths[::-1] + [widths[0]]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            if i < len(widths) - 1:
                dec += [nn.ConvTranspose2d(a, b, 4, 2, 1), _norm(b), nn.SiLU()]
            elif self.out_conv:
                dec += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.SiLU(), nn.Conv2d(b, out_channels, 3, 1, 1)]
            else:
                dec.append(nn.ConvTranspose2d(a, out_channels, 4, 2, 1))
        return nn.Sequential(*dec)

    def _check(self, x: torch.Tensor) -> None:
        b, c, t, h, w = x.shape
        if (c, t, (h, w)) != (self.in_channels, self.clip_len, self.frame_size):
            raise ValueError(f"ClipVAE({self.clip_len} frames of {self.frame_size[1]}x{self.frame_size[0]}, "
                             f"C={self.in_channels}) got a clip of shape {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, C, T, H, W)`` -> the posterior's mean and log-variance, each ``(B, latent_dim)``."""
        self._check(x)
        b, c, t, h, w = x.shape
        stats = self.to_code(self.encoder(x.transpose(1, 2).reshape(b, t * c, h, w)).flatten(1))
        mean, logvar = stats.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` -> ``(B, C, T, H, W)`` in [-1, 1]."""
        y = torch.tanh(self.decoder(self.from_code(code).view(-1, *self.code_shape)))
        b, _, h, w = y.shape
        return y.view(b, self.clip_len, self.in_channels, h, w).transpose(1, 2)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction from the posterior's mean (no sampling): ``(B, C, T, H, W)`` in [-1, 1]."""
        return self.decode(self.encode(x)[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A sampled code's reconstruction, with the posterior's mean and log-variance."""
        mean, logvar = self.encode(x)
        code = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return self.decode(code), mean, logvar
