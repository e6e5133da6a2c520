"""Residual U-Net translators: ResNet-V4 (seed 000 §3.6, A-19/A-20) and our ResNet-V5-A/B/C.

"With the use of residual connections and U-Net's shortcuts through the whole network, it
seems capable to map every level of features between input and output videos" (§3.6).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import BlockFactory, BottleneckBlock3d, ResBlock3d
from videogen3d.models.translators._base import Translator, down_stride


class ResUNet3d(Translator):
    """Residual U-Net: ResBlock3d stages on both sides of U-Net skips, optional bottleneck middle::

        x -> stem -> [enc 0] ------------------------------------ cat -> [dec 0 rest] -> head -> tanh
                        |  (first block strides (1,2,2))           ^
                     [enc 1] ------------------- cat -> [rest] -> [up]  (ResBlock3d, transposed)
                        |                         ^
                     [enc L-1] -> mid_blocks -> [dec L-1] -> [up]

    - ``enc_blocks[i]``: ResBlock3d at level ``i`` (width ``ngf * 2**i``, capped); the first block
      of every stage after the first down-samples by (1,2,2) (by (2,2,2) for the deepest
      ``temporal_down`` stages).
    - ``mid_blocks``: BottleneckBlock3d (3 counted layers each) at the lowest resolution; they
      make odd layer counts reachable.
    - ``dec_blocks`` (default: reversed ``enc_blocks``), deepest first: the deepest stage does
      not up-sample; every other stage starts with a transposed ResBlock3d (stride (1,2,2)),
      concatenates the encoder skip of its level, and its remaining blocks take the
      concatenated width first (a one-block stage hands the concatenation on).

    count = 1 (stem) + 2 * sum(enc_blocks) + 3 * mid_blocks + 2 * sum(dec_blocks) + 1 (head).

    Seed trials (V4, ``se: false``, ``mid_blocks: 0``; 64x64, 16x down-sampling):

    ======================  =================  =====
    trial                   enc_blocks         count
    ======================  =================  =====
    A-19 "V4-50" (B-3)      [1, 2, 3, 4, 2]    50
    A-20 "V4-34"            [1, 2, 2, 2, 1]    34
    ======================  =================  =====

    **ResNet-V5 is withheld by the seed** ("will be released after I publish the formal
    paper", §3.6, §4.4); it only reports depths. The V5 below is *our design*: V4 plus SE gates
    in every residual block (``se: true``, §3.7) and ``mid_blocks`` bottleneck blocks (B and C4
    also deepen the stages), with block lists chosen to reach exactly the depths the seed reports
    (``dec_blocks`` = reversed ``enc_blocks`` throughout):

    ======================  =====  ===================  ==========  =====
    seed name (trials)      frame  enc_blocks           mid_blocks  count
    ======================  =====  ===================  ==========  =====
    V5-A-40 (B-4, B-9)      64     [1, 2, 2, 2, 1]      2           40
    V5-B-71 (B-5, B-10)     64     [2, 3, 4, 4, 2]      3           71
    V5-B-89 (B-11)          128    [2, 2, 3, 4, 5, 2]   5           89
    V5-C1-45 (B-12)         64     [1, 2, 3, 3, 1]      1           45
    V5-C2-54 (B-13)         64     [1, 2, 3, 3, 1]      4           54
    V5-C3-60 (B-14)         64     [1, 2, 3, 3, 1]      6           60
    V5-C4-68 (B-15)         64     [1, 2, 3, 4, 2]      6           68
    ======================  =====  ===================  ==========  =====

    V5-B-89 has six levels (32x down-sampling), the extra level for 128x128 frames; it also
    runs on 64x64 (2x2 at the bottom).
    """

    def __init__(
        self,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 16,
        max_channels: int = 256,
        enc_blocks: Sequence[int] = (1, 2, 3, 4, 2),
        dec_blocks: Sequence[int] | None = None,
        mid_blocks: int = 0,
        norm: str = "instance",
        act: str = "relu",
        se: bool = False,
        temporal_down: int = 0,
        conv_layers: int | None = None,
        block: BlockFactory = ResBlock3d,
    ) -> None:
        enc = [int(b) for b in enc_blocks]
        dec = list(reversed(enc)) if dec_blocks is None else [int(b) for b in dec_blocks]
        if not enc or min(enc) < 1:
            raise ValueError(f"ResUNet3d: enc_blocks={enc} needs at least one block per stage")
        if len(dec) != len(enc) or min(dec[1:], default=1) < 1 or dec[0] < 0 or mid_blocks < 0:
            raise ValueError(f"ResUNet3d: dec_blocks={dec} must list {len(enc)} stages (deepest first) with "
                             f">= 1 block in every up-sampling stage; mid_blocks={mid_blocks} must be >= 0")
        levels = len(enc)
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         out_channels=out_channels, ngf=ngf, max_channels=max_channels, norm=norm, act=act,
                         se=se, n_down=levels - 1, temporal_down=temporal_down)
        w = [self.width(i) for i in range(levels)]

        def res(cin: int, cout: int, stride: int | tuple = 1, transposed: bool = False) -> nn.Module:
            return block(cin, cout, stride, norm=norm, act=act, se=se, transposed=transposed)

        self.stem = self.cna(in_channels, ngf, 3)
        self.enc = nn.ModuleList()
        ch = ngf
        for i, n in enumerate(enc):
            first = res(ch, w[i], down_stride(self.t_flags[i - 1]) if i else 1)
            self.enc.append(nn.Sequential(first, *(res(w[i], w[i]) for _ in range(n - 1))))
            ch = w[i]
        self.mid = nn.Sequential(*(BottleneckBlock3d(ch, norm=norm, act=act, se=se) for _ in range(mid_blocks)))
        self.bottom = nn.Sequential(*(res(ch, ch) for _ in range(dec[0])))
        # ups[i] / decs[i] bring level i + 1 up to level i (indexed by level, used deepest first)
        ups, decs = [None] * (levels - 1), [None] * (levels - 1)
        for i in reversed(range(levels - 1)):
            ups[i] = res(ch, w[i], down_stride(self.t_flags[i]), transposed=True)
            ch = 2 * w[i]  # after concatenating the encoder skip of level i
            decs[i] = nn.Sequential(*(res(ch if b == 0 else w[i], w[i]) for b in range(dec[levels - 1 - i] - 1)))
            ch = w[i] if dec[levels - 1 - i] > 1 else ch
        self.ups, self.decs = nn.ModuleList(ups), nn.ModuleList(decs)
        self.to_rgb = self.head(ch)
        self.middle_channels = w[-1]
        self._finish(conv_layers)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        x = self.stem(x)
        for stage in self.enc:
            x = stage(x)
            skips.append(x)
        x = self.bottom(self.mid(x))  # (B, C_max, T / t_factor, H / s_factor, W / s_factor)
        for i in reversed(range(len(self.ups))):
            x = self.decs[i](torch.cat([self.ups[i](x), skips[i]], dim=1))
        return self.to_rgb(x)
