"""A temporal-shift 2D CNN for clips (ours, for seed 003's synthesis): another architecture than the C3Ds.

TSM (Lin, Gan and Han 2019, "TSM: Temporal Shift Module for Efficient Video Understanding"): every frame goes
through the same 2D convolutions, and before each one an eighth of the channels is taken from the previous frame
and an eighth from the next (zero at the clip's ends), so that motion is seen at no extra multiply-adds. Its
features are the mean over frames and positions of the last block. Used as ``classifier_tsm``
(``conf/synth/classifier/c3d.yaml``, ``tsm``): a guide of synthesis whose blind spots need not be a C3D's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import check_flag, check_fraction
from videogen3d.utils.video import frame_hw

__all__ = ["temporal_shift", "TemporalShiftNet"]


def temporal_shift(x: torch.Tensor, clip_len: int, fold_div: int = 8) -> torch.Tensor:
    """``x (B * T, C, H, W)``: channels ``[0, C / fold_div)`` from the previous frame, the next ``C / fold_div``
    from the next frame (zeros where there is none), the rest unchanged."""
    bt, c, h, w = x.shape
    if bt % clip_len:
        raise ValueError(f"temporal_shift: {bt} frames are not whole clips of {clip_len}")
    x = x.view(bt // clip_len, clip_len, c, h, w)
    f = c // fold_div
    out = torch.zeros_like(x)
    out[:, 1:, :f] = x[:, :-1, :f]
    out[:, :-1, f:2 * f] = x[:, 1:, f:2 * f]
    out[:, :, 2 * f:] = x[:, :, 2 * f:]
    return out.view(bt, c, h, w)


class _ShiftBlock(nn.Module):
    def __init__(self, cin: int, cout: int, clip_len: int, shift: bool = True) -> None:
        super().__init__()
        self.clip_len, self.shift = clip_len, shift
        self.conv = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(temporal_shift(x, self.clip_len) if self.shift else x)


class TemporalShiftNet(nn.Module):
    """Clips ``(B, C, T, H, W)`` -> logits ``(B, num_classes)``: shift-conv blocks of ``widths`` (one at the
    first width, 2x2 max pool, one at the second, pool, two at the third), the mean over frames and positions,
    dropout and a linear head. ``frame_size`` must be divisible by 4 (the two pools). ``shift=False``: no channel
    is shifted, so each frame is read on its own and the logits are the mean of the frames' (temporal segment
    networks' average consensus, Wang et al. 2016): blind to motion, it reads the object's shape and which way
    it points in each still (``classifier_still``)."""

    def __init__(self, num_classes: int, clip_len: int = 16, frame_size: int | Sequence[int] = (96, 128),
                 in_channels: int = 3, *, widths: Sequence[int] = (12, 32, 64), dropout: float = 0.2,
                 shift: bool = True) -> None:
        super().__init__()
        h, w = frame_hw(frame_size)
        if h % 4 or w % 4:
            raise ValueError(f"TemporalShiftNet cannot take frames of H={h}, W={w}: both must be multiples of 4 "
                             f"(its two 2x2 pools)")
        if len(widths) != 3 or any(int(v) < 1 for v in widths):
            raise ValueError(f"TemporalShiftNet widths={list(widths)!r} must be three whole numbers >= 1")
        self.clip_len, self.num_classes = int(clip_len), int(num_classes)
        self.shift = check_flag("TemporalShiftNet shift", shift)
        w1, w2, w3 = (int(v) for v in widths)
        t, s = self.clip_len, self.shift
        self.body = nn.ModuleList([_ShiftBlock(in_channels, w1, t, s), nn.MaxPool2d(2), _ShiftBlock(w1, w2, t, s),
                                   nn.MaxPool2d(2), _ShiftBlock(w2, w3, t, s), _ShiftBlock(w3, w3, t, s)])
        self.drop = nn.Dropout(check_fraction("TemporalShiftNet dropout", dropout))
        self.head = nn.Linear(w3, num_classes)

    @property
    def kind(self) -> str:
        """The network's name in the synthesis table's notes (the class name, unless it reads frames alone)."""
        return "TemporalShiftNet" if self.shift else "TemporalShiftNet without shifts (each frame alone)"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if t != self.clip_len:
            raise ValueError(f"TemporalShiftNet was built for clips of {self.clip_len} frames, got {t}")
        y = x.transpose(1, 2).reshape(b * t, c, h, w)
        for m in self.body:
            y = m(y)
        return y.view(b, t, *y.shape[1:]).mean(dim=(1, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))
