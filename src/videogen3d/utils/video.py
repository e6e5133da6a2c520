"""The two conversions every part of videogen3d shares, written once: frame sizes and pixel ranges.

Frames live as ``uint8`` on disk and in frame banks; networks see float in [-1, 1] (DESIGN.md).
Plain torch only, so models, data and the platform can all import it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def frame_hw(frame_size: int | Sequence[int], min_side: int = 1, name: str = "frame_size") -> tuple[int, int]:
    """``64`` or ``[64, 48]`` (height, width; OmegaConf lists too) -> ``(64, 64)`` / ``(64, 48)``.

    Refuses anything else, and sides below ``min_side``, naming ``name`` and the value."""
    try:
        hw = (int(frame_size),) * 2 if isinstance(frame_size, int) else tuple(int(v) for v in frame_size)
    except (TypeError, ValueError):
        hw = ()
    if len(hw) != 2 or min(hw) < min_side:
        raise ValueError(f"{name} must be an int or [height, width] with sides >= {min_side}, got {frame_size!r}")
    return hw  # type: ignore[return-value]


def uint8_to_unit(x: torch.Tensor) -> torch.Tensor:
    """``uint8`` [0, 255] -> float32 in [-1, 1] (a new tensor)."""
    return x.float().div_(127.5).sub_(1.0)


def unit_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float in [-1, 1] (clamped) -> ``uint8`` [0, 255], rounded."""
    return x.detach().float().clamp(-1, 1).add(1).mul_(127.5).round_().to(torch.uint8)
