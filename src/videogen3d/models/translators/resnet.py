"""Residual bottleneck / deep ResNet translator V1, V2 (seed 000 §3.3, §3.5; trials A-1..A-14).

One class; the variants are data (``down`` ops, ``n_blocks``, widths)::

    stem (k=3x7x7) -> down ops -> n_blocks x ResBlock3d -> 1 transposed conv per halving -> head (tanh)

======  ====================================  ========  ============  =======================
trial   down                                  n_blocks  frame         counted conv layers
======  ====================================  ========  ============  =======================
A-1     [conv, conv, conv, conv]              6         64            22 ("Bottleneck-22", B-6)
A-2     [conv, conv, conv, conv]              9         64            28
A-3     [conv, conv, conv]                    6         64            20
A-4     [conv, conv, conv, conv]              3         64            16
A-7/8   [conv]                                14 / 18   64            32 / 40
A-9/10  [conv, conv]                          14        64 / 128      34 ("ResNet-34", B-1, B-8)
A-11    [conv, pool]                          14        64            33
A-12    [pool, conv]                          14        64            33
A-13    [pool, conv, conv]                    14        128           35
A-14    [pool, flat, pool, flat, pool, flat]  14        128, max 64   36
======  ====================================  ========  ============  =======================

count = 1 (stem) + #conv + #flat + 2 * n_blocks + #halvings + 1 (head). With ``ngf=16`` the middle
widths match the seed's tables (A-1: 256 at 9x4x4 on 64x64; A-7: 32 at 32x32; A-9: 64 at 16x16).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import BlockFactory, ResBlock3d
from videogen3d.models.translators._base import Translator, down_stride

DOWN_OPS = ("conv", "pool", "flat")


class ResNetTranslator(Translator):
    """Stem, down ops, residual blocks, transposed-conv up-sampling, RGB head.

    ``down`` ops: ``conv`` = stride-(1,2,2) ``ConvNormAct`` doubling the width (capped at
    ``max_channels``); ``pool`` = ``MaxPool3d`` (1,2,2) keeping the width (not counted);
    ``flat`` = stride-1 ``ConvNormAct`` doubling the width (V2's "MaxPool3D + Flat-Conv", A-14).
    The deepest ``temporal_down`` halving ops also halve T, and the matching up-sampling
    transposed convs restore it.
    """

    def __init__(
        self,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 16,
        max_channels: int = 256,
        down: Sequence[str] = ("conv", "conv", "conv", "conv"),
        n_blocks: int = 6,
        stem_kernel: int | Sequence[int] = (3, 7, 7),
        norm: str = "instance",
        act: str = "relu",
        se: bool = False,
        temporal_down: int = 0,
        conv_layers: int | None = None,
        block: BlockFactory = ResBlock3d,
    ) -> None:
        down = [str(op) for op in down]
        bad = [op for op in down if op not in DOWN_OPS]
        if bad:
            raise ValueError(f"ResNetTranslator: unknown down ops {bad}; expected a list of {DOWN_OPS}")
        n_down = sum(op != "flat" for op in down)
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         out_channels=out_channels, ngf=ngf, max_channels=max_channels, norm=norm, act=act,
                         se=se, n_down=n_down, temporal_down=temporal_down)
        stem_kernel = stem_kernel if isinstance(stem_kernel, int) else tuple(stem_kernel)
        layers: list[nn.Module] = [self.cna(in_channels, ngf, stem_kernel)]
        ch, widths = ngf, []  # widths[i]: width at level i, which the up path restores
        for op in down:
            if op == "flat":
                layers.append(self.cna(ch, min(2 * ch, max_channels), 3))
                ch = min(2 * ch, max_channels)
                continue
            stride = down_stride(self.t_flags[len(widths)])
            widths.append(ch)
            if op == "conv":
                layers.append(self.cna(ch, min(2 * ch, max_channels), 3, stride))
                ch = min(2 * ch, max_channels)
            else:
                layers.append(nn.MaxPool3d(stride))
        layers += [block(ch, ch, norm=norm, act=act, se=se) for _ in range(n_blocks)]
        layers.append(self.up_path(widths, ch))
        layers.append(self.head(widths[0] if widths else ch, stem_kernel))
        self.body = nn.Sequential(*layers)
        self.middle_channels = ch
        self._finish(conv_layers)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
