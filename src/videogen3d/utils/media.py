"""Turn model tensors into pictures: uint8 frames, side-by-side comparisons, frame grids.

Writing the files is ``videogen3d.data.video_io``'s job (PyAV for MP4, Pillow for PNG/GIF);
this module only arranges pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from videogen3d.utils.video import unit_to_uint8


def to_uint8_frames(video: torch.Tensor) -> np.ndarray:
    """(C, T, H, W) float in [-1, 1] -> (T, H, W, 3) uint8; one channel is repeated to RGB."""
    if video.ndim != 4:
        raise ValueError(f"expected a (C, T, H, W) video, got shape {tuple(video.shape)}")
    v = unit_to_uint8(video)
    if v.shape[0] == 1:
        v = v.expand(3, -1, -1, -1)
    return v.permute(1, 2, 3, 0).cpu().numpy()  # (T, H, W, 3)


def side_by_side(videos: Sequence[torch.Tensor], gap: int = 2, gap_value: int = 255) -> np.ndarray:
    """Videos (C, T, H, W) of one length placed left to right: (T, H, sum(W) + gaps, 3) uint8."""
    frames = [to_uint8_frames(v) for v in videos]
    t, h = frames[0].shape[:2]
    if any(f.shape[:2] != (t, h) for f in frames):
        raise ValueError(f"side_by_side needs equal T and H, got {[f.shape[:3] for f in frames]}")
    sep = np.full((t, h, gap, 3), gap_value, np.uint8)
    parts: list[np.ndarray] = []
    for i, f in enumerate(frames):
        if i:
            parts.append(sep)
        parts.append(f)
    return np.concatenate(parts, axis=2)


def frame_grid(videos: torch.Tensor | Sequence[torch.Tensor], gap: int = 2, gap_value: int = 255) -> np.ndarray:
    """One row per video, one column per frame: (rows*H + gaps, T*W + gaps, 3) uint8.

    ``videos`` is (N, C, T, H, W) or a sequence of (C, T, H, W) of one geometry.
    """
    rows = [to_uint8_frames(v) for v in videos]  # each (T, H, W, 3)
    t, h, w, _ = rows[0].shape
    grid = np.full((len(rows) * (h + gap) - gap, t * (w + gap) - gap, 3), gap_value, np.uint8)
    for r, frames in enumerate(rows):
        for c in range(t):  # T is small (a clip); this loop only lays tiles
            grid[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = frames[c]
    return grid
