"""3D U-Net translator (seed 000 §3.4; trials A-5 depth 4, A-6 depth 5 "U-Net-22", B-7)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.translators._base import Translator, down_stride


class UNet3d(Translator):
    """U-Net with ``depth`` levels; the skip path (depth 3 drawn)::

        x -> [conv conv]-------------------------------- cat -> [conv, conv->RGB] -> tanh -> y
                  |                                       ^
                 pool                                     up (transposed conv)
                  v                                       |
              [conv conv]-------------------- cat -> [conv conv]
                  |                            ^
                 pool                          up
                  v                            |
              [conv conv] (bottom) ------------+

    Level ``i`` has ``ngf * 2**i`` channels (capped at ``max_channels``): with ``ngf=16`` the
    middle is 128 at 8x8 for A-5 and 256 at 4x4 for A-6 on 64x64 frames, as the seed reports.
    Pools are (1,2,2); the deepest ``temporal_down`` of them also halve T.

    count = 2 * depth (encoder) + 3 * (depth - 1) (up + 2 convs per decoder level, the last of
    which is the RGB conv) = 5 * depth - 3: 22 for depth 5, 17 for depth 4.
    """

    def __init__(
        self,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 16,
        max_channels: int = 512,
        depth: int = 5,
        norm: str = "instance",
        act: str = "relu",
        se: bool = False,
        temporal_down: int = 0,
        conv_layers: int | None = None,
    ) -> None:
        if depth < 2:
            raise ValueError(f"UNet3d: depth={depth} must be at least 2 (one skip connection)")
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         out_channels=out_channels, ngf=ngf, max_channels=max_channels, norm=norm, act=act,
                         se=se, n_down=depth - 1, temporal_down=temporal_down)
        if se:  # no residual blocks to gate; refuse rather than silently ignore the flag
            raise ValueError("UNet3d has no residual blocks: se=true is not supported, set se: false")
        w = [self.width(i) for i in range(depth)]
        self.enc = nn.ModuleList(
            nn.Sequential(self.cna(in_channels if i == 0 else w[i - 1], w[i]), self.cna(w[i], w[i]))
            for i in range(depth)
        )
        self.pools = nn.ModuleList(nn.MaxPool3d(down_stride(f)) for f in self.t_flags)
        self.ups = nn.ModuleList(
            self.cna(w[i + 1], w[i], 3, down_stride(self.t_flags[i]), transposed=True) for i in range(depth - 1)
        )
        self.dec = nn.ModuleList(
            nn.Sequential(self.cna(2 * w[i], w[i]), self.cna(w[i], w[i]) if i else self.head(w[i]))
            for i in range(depth - 1)
        )
        self._finish(conv_layers)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x if i == 0 else self.pools[i - 1](x))
            skips.append(x)
        x = skips.pop()  # bottom level, (B, C_max, T / t_factor, H / s_factor, W / s_factor)
        for i in reversed(range(len(self.dec))):
            x = self.dec[i](torch.cat([self.ups[i](x), skips[i]], dim=1))
        return x
