"""A sprite-and-path clip VAE (ours): one drawing per clip, moved along a decoded path.

The clip VAE (:mod:`videogen3d.models.clip_vae`) decodes the 16 frames as 48 channels of one map, so a thin
structure that moves, a bicycle's one-pixel wheels, is drawn at 16 places from one code and comes out as the
mean of its positions: a car-shaped smear (docs/seed003_experiments.md: thirteen clip VAEs over three sessions
drew no wheel). This one keeps the clip VAE's encoder, but its decoder draws one RGBA canvas (the object, its
ink centred) and a path of ``clip_len`` positions, and frame ``t`` is the canvas moved to position ``t`` by
bilinear resampling and composited over white: a layered model with a spatial transformer (Jaderberg et al.
2015, "Spatial transformer networks"; Monnier et al. 2021, "Unsupervised layered image decomposition into
object prototypes"). Every frame then shows the same drawing, which the error of all 16 frames sharpens.

A path learned from the reconstruction error alone starts from a canvas that is the blur of the object's
positions, so the path is also held to each input frame's ink centroid (:func:`ink_centroids`; ``track_weight``
times the mean squared distance, in grid units, added to the loss through :attr:`aux_loss`). The centroid is
computed from the clip itself (no label, no renderer state), so the model trains on any clip of objects on white.

``out_conv`` chooses the canvas head as it chooses the clip VAE's last layer: ``False`` (scale=cpu) the last
transposed convolution gives the 4 RGBA channels, ``True`` a 3x3 convolution after full-resolution feature maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from videogen3d.models.clip_vae import ClipVAE

__all__ = ["SpriteClipVAE", "ink_centroids"]

PATH_RANGE = 1.5
"""The canvas centre's furthest position from the frame's centre, in grid units (the frame spans [-1, 1])."""
ALPHA_BIAS = -2.0
"""Added to the alpha logit: a fresh decoder draws a faint canvas (alpha ~0.12) over white, not a grey frame."""


def _centres(n: int, like: torch.Tensor) -> torch.Tensor:
    """The ``n`` pixel centres of one axis in grid units (``[-1, 1]``, as ``align_corners=False``)."""
    return (torch.arange(n, device=like.device, dtype=like.dtype) + 0.5) / n * 2 - 1


def ink_centroids(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T, H, W)`` clips in [-1, 1] on white -> ``(B, T, 2)`` each frame's ink centroid ``(x, y)`` in grid
    coordinates (``[-1, 1]``, pixel centres as ``align_corners=False``). Ink is ``(1 - mean over C) / 2``, 0 on
    white; a blank frame gives the centre."""
    if x.dim() != 5:
        raise ValueError(f"ink_centroids needs (B, C, T, H, W) clips, got shape {tuple(x.shape)}")
    ink = ((1 - x.mean(1)) / 2).clamp_min(0)
    h, w = x.shape[-2:]
    gy, gx = _centres(h, x), _centres(w, x)
    mass = ink.sum((-2, -1))
    blank = mass < 1e-6
    cx = (ink.sum(-2) * gx).sum(-1) / mass.clamp_min(1e-6)
    cy = (ink.sum(-1) * gy).sum(-1) / mass.clamp_min(1e-6)
    return torch.stack([cx.masked_fill(blank, 0.0), cy.masked_fill(blank, 0.0)], -1)


class SpriteClipVAE(ClipVAE):
    """``(B, C, T, H, W)`` clip <-> ``(B, latent_dim)`` code, the clip drawn as one RGBA canvas moved along a path.

    ``decode_parts`` gives the canvas and the path, ``render`` the clip from them; ``decode``, ``reconstruct`` and
    ``forward`` are the clip VAE's. ``forward`` also sets :attr:`aux_loss`, the path's tracking term, which
    :class:`~videogen3d.tasks.vae.ClipVAEModule` adds to the loss."""

    def __init__(self, clip_len: int = 16, frame_size: int | Sequence[int] = (96, 128), in_channels: int = 3, *,
                 latent_dim: int = 32, widths: Sequence[int] = (64, 128, 128), out_conv: bool = True,
                 track_weight: float = 1.0) -> None:
        if isinstance(track_weight, bool) or not isinstance(track_weight, (int, float)) or not track_weight >= 0:
            raise ValueError(f"SpriteClipVAE track_weight must be a number >= 0, got {track_weight!r}")
        super().__init__(clip_len, frame_size, in_channels, latent_dim=latent_dim, widths=widths, out_conv=out_conv)
        self.path = nn.Sequential(nn.Linear(self.latent_dim, 128), nn.SiLU(), nn.Linear(128, 2 * self.clip_len))
        self.track_weight = float(track_weight)
        self.aux_loss: torch.Tensor | None = None

    def _build_decoder(self, widths: list[int], out_channels: int) -> nn.Sequential:
        return super()._build_decoder(widths, self.in_channels + 1)  # RGB + alpha of one canvas

    def decode_parts(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, latent_dim)`` -> the canvas ``(B, C + 1, H, W)`` (colour in [-1, 1], alpha in [0, 1]) and the path
        ``(B, T, 2)``: where the canvas centre is in each frame, ``(x, y)`` in grid units."""
        y = self.decoder(self.from_code(code).view(-1, *self.code_shape))
        canvas = torch.cat([torch.tanh(y[:, :-1]), torch.sigmoid(y[:, -1:] + ALPHA_BIAS)], 1)
        path = PATH_RANGE * torch.tanh(self.path(code).view(-1, self.clip_len, 2))
        return canvas, path

    def render(self, canvas: torch.Tensor, path: torch.Tensor) -> torch.Tensor:
        """The canvas moved to each position of the path (bilinear; outside the canvas is transparent) and
        composited over white: ``(B, C, T, H, W)`` in [-1, 1]. One ``grid_sample`` per clip reads the canvas once for
        all ``T`` frames (a grid of ``T*H`` rows: the frame's pixel centres minus that frame's position)."""
        b, t = path.shape[:2]
        h, w = self.frame_size
        pixels = torch.stack(torch.meshgrid(_centres(w, canvas), _centres(h, canvas), indexing="xy"), -1)  # (H, W, 2): (x, y) of each pixel centre
        grid = (pixels - path[:, :, None, None, :]).reshape(b, t * h, w, 2)  # pixel p samples the canvas at p - path
        frames = F.grid_sample(canvas, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        frames = frames.view(b, canvas.shape[1], t, h, w)
        rgb, alpha = frames[:, :-1], frames[:, -1:]
        return alpha * rgb + (1 - alpha)  # over white (1 on the [-1, 1] range)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim)`` -> ``(B, C, T, H, W)`` in [-1, 1]."""
        return self.render(*self.decode_parts(code))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A sampled code's reconstruction, with the posterior's mean and log-variance; sets :attr:`aux_loss` to
        ``track_weight`` times the mean squared distance of the path from the input's ink centroids."""
        mean, logvar = self.encode(x)
        code = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        canvas, path = self.decode_parts(code)
        target = ink_centroids(x.detach().float()).to(path.dtype)
        self.aux_loss = self.track_weight * (path - target).pow(2).mean()
        return self.render(canvas, path), mean, logvar
