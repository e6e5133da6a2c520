"""C3D video classifier (Tran et al., ICCV 2015), the target-error network of seed 003 (§3.2, eq. 6).

Tran et al.'s layer pattern: conv1a-pool1, conv2a-pool2, conv3a/3b-pool3, conv4a/4b-pool4,
conv5a/5b-pool5, then fc6, fc7 and the class layer; 3x3x3 convs, 64-128-256-256-256 (512 in
their last two blocks at 112x112; seed 003 gives no widths, ours are scaled for 128x96 by
``width``), pool1 spatial-only (1x2x2) so that early frames are not merged, the others 2x2x2.

Sized for the input: ``pools`` is how many conv-pool blocks there are (5 at 128x96 x 16 frames,
4 at 64x48, 3 at 32x24), so the last feature map is small (4x3 at all three) and
the fc layers stay light; the constructor refuses a geometry those pools cannot divide.
``channels_last=True`` keeps the conv weights and activations in NDHWC (``torch.channels_last_3d``),
faster on a CPU at small sizes; the function and the checkpoint's tensors are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import ConvNormAct, check_flag, check_geometry
from videogen3d.utils.video import frame_hw

__all__ = ["C3D"]

_WIDTHS = (64, 128, 256, 256, 256)
_CONVS = (1, 1, 2, 2, 2)  # convs per block: conv1a, conv2a, conv3a/b, conv4a/b, conv5a/b


class C3D(nn.Module):
    """``(B, C, T, H, W)`` in [-1, 1] -> class logits ``(B, num_classes)``; ``features`` gives fc7."""

    def __init__(self, num_classes: int, clip_len: int = 16, frame_size: int | Sequence[int] = (96, 128),
                 in_channels: int = 3, *, pools: int = 5, width: float = 1.0, fc_dim: int = 2048,
                 norm: str = "batch", dropout: float = 0.5, channels_last: bool = False) -> None:
        super().__init__()
        if not 1 <= pools <= len(_WIDTHS):
            raise ValueError(f"C3D pools={pools} must lie in [1, {len(_WIDTHS)}]")
        if num_classes < 2:
            raise ValueError(f"C3D needs num_classes >= 2, got {num_classes}")
        h, w = frame_hw(frame_size)
        t_factor, s_factor = 2 ** (pools - 1), 2 ** pools
        check_geometry(f"C3D(pools={pools})", clip_len, (h, w), t_factor, s_factor)
        self.num_classes, self.clip_len, self.frame_size = int(num_classes), int(clip_len), (h, w)
        layers: list[nn.Module] = []
        ch = in_channels
        for b in range(pools):
            out = max(8, int(round(_WIDTHS[b] * width)))
            for _ in range(_CONVS[b]):
                layers.append(ConvNormAct(ch, out, 3, norm=norm, act="relu"))
                ch = out
            layers.append(nn.MaxPool3d((1, 2, 2) if b == 0 else 2))
        self.body = nn.Sequential(*layers)
        cells = (clip_len // t_factor) * (h // s_factor) * (w // s_factor)
        self.feature_dim = int(fc_dim)
        self.fc = nn.Sequential(  # fc6, fc7
            nn.Flatten(), nn.Linear(ch * cells, fc_dim), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc_dim, fc_dim), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )
        self.head = nn.Linear(fc_dim, num_classes)  # fc8
        # NDHWC convolutions: 1.28x on a 2-core CPU for a train step and an input gradient at 32x24 (see scale/cpu_fast)
        self.channels_last = check_flag("C3D channels_last", channels_last)
        if self.channels_last:
            self.to(memory_format=torch.channels_last_3d)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """fc7 activations ``(B, fc_dim)``."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
