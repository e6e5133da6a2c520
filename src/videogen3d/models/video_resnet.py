"""A small 3D ResNet classifier: the automated judge that stands in for seed 003's crowd (§4.4).

Seed 003 asked 300 CrowdFlower contributors to name the class of each generated video. We
replace them with a classifier of a *different* architecture from the C3D used to synthesise
(residual blocks, global average pooling, no fc stack) trained from another seed on a data
partition that the synthesis models never saw, so that a video which merely fools the C3D is
not rewarded. The design is ours; the seed has no such network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import ConvNormAct, ResBlock3d, check_geometry
from videogen3d.utils.video import frame_hw

__all__ = ["VideoResNetClassifier"]


class VideoResNetClassifier(nn.Module):
    """stem (3x7x7 conv, spatial stride 2) -> ``len(widths)`` stages of ``ResBlock3d`` -> GAP -> linear.

    Every stage after the first down-samples by 2 in space and time (``ResBlock3d`` stride 2).
    """

    def __init__(self, num_classes: int, clip_len: int = 16, frame_size: int | Sequence[int] = (96, 128),
                 in_channels: int = 3, *, widths: Sequence[int] = (32, 64, 128, 256), blocks_per_stage: int = 1,
                 norm: str = "batch", dropout: float = 0.2) -> None:
        super().__init__()
        h, w = frame_hw(frame_size)
        n_down = len(widths) - 1
        check_geometry(f"VideoResNetClassifier({len(widths)} stages)", clip_len, (h, w), 2 ** n_down, 2 ** (n_down + 1))
        self.num_classes, self.clip_len, self.frame_size = int(num_classes), int(clip_len), (h, w)
        self.stem = ConvNormAct(in_channels, widths[0], (3, 7, 7), (1, 2, 2), norm=norm)
        stages: list[nn.Module] = []
        ch = widths[0]
        for i, out in enumerate(widths):
            for j in range(blocks_per_stage):
                stages.append(ResBlock3d(ch, out, 2 if (i > 0 and j == 0) else 1, norm=norm))
                ch = out
        self.stages = nn.Sequential(*stages)
        self.feature_dim = ch
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(ch, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled last-stage activations ``(B, widths[-1])`` (the Fréchet features)."""
        return self.stages(self.stem(x)).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))
