"""What every video translator (generator) shares: geometry checks, layer count, width rule, head.

A translator maps a condition video ``(B, in_channels, T, H, W)`` in [-1, 1] to a video
``(B, out_channels, T, H, W)`` ending in ``tanh`` (seed 000, §3). The subclasses only build
their body; this base refuses geometry the body cannot down-sample, checks the layer count a
config promises (``conv_layers``), and exposes ``down_factors = (t_factor, s_factor)`` so that
sliding-window inference knows which clip lengths and frame sizes a network accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import ConvNormAct, check_geometry, conv3d, count_conv_layers
from videogen3d.utils.video import frame_hw

Triple = tuple[int, int, int]


def temporal_flags(n_down: int, temporal_down: int) -> list[bool]:
    """Which of ``n_down`` down-sampling steps also halve T: the deepest ``temporal_down`` ones
    ("temporal compress ... in middle", seed 000 §3.6, trial A-17)."""
    return [i >= n_down - temporal_down for i in range(n_down)]


def down_stride(halve_t: bool) -> Triple:
    return (2, 2, 2) if halve_t else (1, 2, 2)


class Translator(nn.Module):
    """Base of every generator: subclasses build their layers, then call ``_finish``.

    ``n_down`` is how many times the body halves H and W; the deepest ``temporal_down`` of those
    steps also halve T. Both are known before any layer is built, so bad geometry is refused
    first and cheaply.
    """

    def __init__(
        self,
        *,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int,
        out_channels: int,
        ngf: int,
        max_channels: int,
        norm: str,
        act: str,
        se: bool,
        n_down: int,
        temporal_down: int,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if ngf < 1 or max_channels < ngf:
            raise ValueError(f"{name}: need 1 <= ngf <= max_channels, got ngf={ngf}, max_channels={max_channels}")
        if not 0 <= temporal_down <= n_down:
            raise ValueError(f"{name}: temporal_down={temporal_down} must be between 0 and its "
                             f"{n_down} down-sampling steps")
        self.clip_len = int(clip_len)
        self.frame_size = frame_hw(frame_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.ngf, self.max_channels = ngf, max_channels
        self.norm, self.act, self.se = norm, act, se
        self.t_flags = temporal_flags(n_down, temporal_down)
        self.down_factors: tuple[int, int] = (2 ** temporal_down, 2 ** n_down)
        check_geometry(name, self.clip_len, self.frame_size, *self.down_factors)
        self.conv_layers = 0

    def width(self, level: int) -> int:
        """Channels at down-sampling level ``level``: ``ngf * 2**level`` capped at ``max_channels``."""
        return min(self.ngf * 2 ** level, self.max_channels)

    def cna(self, in_ch: int, out_ch: int, kernel: int | Sequence[int] = 3, stride: int | Triple = 1,
            **kw) -> ConvNormAct:
        """``ConvNormAct`` with this network's norm and activation."""
        return ConvNormAct(in_ch, out_ch, kernel, stride, norm=self.norm, act=self.act, **kw)

    def up_path(self, widths: Sequence[int], in_ch: int) -> nn.Sequential:
        """One transposed ``ConvNormAct`` per spatial halving, deepest first, mirroring the
        encoder: ``widths[i]`` is the encoder's width at level ``i`` (0 = full resolution)."""
        layers, ch = [], in_ch
        for level in reversed(range(len(widths))):
            layers.append(self.cna(ch, widths[level], 3, down_stride(self.t_flags[level]), transposed=True))
            ch = widths[level]
        return nn.Sequential(*layers)

    def head(self, in_ch: int, kernel: int | Sequence[int] = 3) -> nn.Sequential:
        """The RGB layer: a biased conv (1 counted layer) and ``tanh``."""
        return nn.Sequential(conv3d(in_ch, self.out_channels, kernel), nn.Tanh())

    def _finish(self, conv_layers: int | None) -> None:
        """Count the layers built and refuse a config that promised another number."""
        self.conv_layers = count_conv_layers(self)
        if conv_layers is not None and conv_layers != self.conv_layers:
            raise ValueError(f"{type(self).__name__}: the config states conv_layers={conv_layers} but the "
                             f"network built has {self.conv_layers} counted conv layers; fix the block "
                             f"lists or set conv_layers: {self.conv_layers}")

    def check_input(self, x: torch.Tensor) -> None:
        """Cheap shape check; any T/H/W divisible by ``down_factors`` is fine (sliding windows)."""
        tf, sf = self.down_factors
        ok = x.dim() == 5 and x.shape[1] == self.in_channels
        if ok:
            t, h, w = x.shape[2:]
            ok = t % tf == 0 and t >= tf and all(v % sf == 0 and v >= sf for v in (h, w))
        if not ok:
            raise ValueError(f"{type(self).__name__} expects (B, {self.in_channels}, T, H, W) with T a "
                             f"multiple of {tf} and H, W multiples of {sf}; got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T, H, W) -> (B, C_out, T, H, W)
        self.check_input(x)
        return self.translate(x)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
