"""Staged deep ResNet translator V3 (seed 000 §3.6; trials A-15..A-18).

"I directly combined down-sampling layers and flat convolutional layers together": the
encoder is ResNet-style stages whose first block down-samples, then one transposed conv per
halving brings the video back to full size.

======  ===============================================  ===========  =========  =====
trial   layout                                           halvings     s_factor   count
======  ===============================================  ===========  =========  =====
A-15    stem stride 2 + maxpool + [3, 4, 6, 2]           5            32         37
A-16    A-15 with ``norm: batch``                        5            32         37
A-17    A-15 with ``temporal_down: 2`` (T / 4 in middle)  5            32         37
A-18    stem stride 1, no maxpool, [2, 3, 4, 6, 2]        4            16         40
======  ===============================================  ===========  =========  =====

count = 1 (stem) + 2 * sum(stage_blocks) + halvings + 1 (head).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import BlockFactory, ResBlock3d
from videogen3d.models.translators._base import Translator, down_stride


class StagedResNetTranslator(Translator):
    """Stem (3x7x7, stride ``stem_stride`` in H, W) -> optional max-pool -> ResBlock3d stages ->
    transposed ``ConvNormAct`` per halving -> RGB head.

    The first block of every stage after the first down-samples by (1,2,2) and doubles the
    width (capped at ``max_channels``). Halvings in order: stem, pool, stage transitions; the
    deepest ``temporal_down`` of them also halve T (A-17: ``temporal_down: 2`` -> T must be a
    multiple of 4).
    """

    def __init__(
        self,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 16,
        max_channels: int = 256,
        stage_blocks: Sequence[int] = (3, 4, 6, 2),
        stem_stride: int = 2,
        maxpool: bool = True,
        norm: str = "instance",
        act: str = "relu",
        se: bool = False,
        temporal_down: int = 0,
        conv_layers: int | None = None,
        block: BlockFactory = ResBlock3d,
    ) -> None:
        stage_blocks = [int(b) for b in stage_blocks]
        if stem_stride not in (1, 2):
            raise ValueError(f"StagedResNetTranslator: stem_stride={stem_stride}; expected 1 or 2")
        if not stage_blocks or min(stage_blocks) < 1:
            raise ValueError(f"StagedResNetTranslator: stage_blocks={stage_blocks} needs >= 1 block per stage")
        n_pre = int(stem_stride == 2) + int(bool(maxpool))
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         out_channels=out_channels, ngf=ngf, max_channels=max_channels, norm=norm, act=act,
                         se=se, n_down=n_pre + len(stage_blocks) - 1, temporal_down=temporal_down)
        flags = iter(self.t_flags)
        widths: list[int] = []  # widths[i]: width at level i, which the up path restores
        stem_s = down_stride(next(flags)) if stem_stride == 2 else 1
        layers: list[nn.Module] = [self.cna(in_channels, ngf, (3, 7, 7), stem_s)]
        widths += [ngf] * (stem_stride == 2)
        if maxpool:
            layers.append(nn.MaxPool3d(down_stride(next(flags))))
            widths.append(ngf)
        ch = ngf
        for s, n in enumerate(stage_blocks):
            out = min(ngf * 2 ** s, max_channels)
            for b in range(n):
                stride = down_stride(next(flags)) if s > 0 and b == 0 else 1
                if stride != 1:
                    widths.append(ch)
                layers.append(block(ch, out, stride, norm=norm, act=act, se=se))
                ch = out
        layers.append(self.up_path(widths, ch))
        layers.append(self.head(widths[0] if widths else ch, (3, 7, 7)))
        self.body = nn.Sequential(*layers)
        self.middle_channels = ch
        self._finish(conv_layers)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
