"""Files of a synthesis run: an MP4 and a GIF per video, a PNG grid (rows = targets, columns = frames),
and ``videos.pt`` (the float videos, their targets and the run's settings) for the evaluation stage.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from videogen3d.data.video_io import write_gif, write_png, write_video
from videogen3d.synthesis.checkpoints import safe_load
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid, to_uint8_frames

__all__ = ["write_synthesis", "load_synthesis", "safe_name"]


def safe_name(name: str) -> str:
    """``"car_right+rocket_up#1"`` -> ``"car_right+rocket_up_1"`` (file-name safe)."""
    return re.sub(r"[^A-Za-z0-9_+.-]+", "_", name).strip("_") or "video"


def write_synthesis(out_dir: str | os.PathLike, videos: torch.Tensor, names: Sequence[str], targets: torch.Tensor,
                    settings: dict[str, Any], class_names: Sequence[str], fps: float = 8.0,
                    mp4: bool = True) -> dict[str, Any]:
    """Write every file of one run of ``videos (N, C, T, H, W)`` to ``out_dir``; returns the paths."""
    out = Path(out_dir)
    videos = videos.detach().float().cpu().clamp(-1, 1)
    files: dict[str, Any] = {"mp4": [], "gif": []}
    for i, (video, name) in enumerate(zip(videos, names)):
        frames = to_uint8_frames(video)  # (T, H, W, 3)
        stem = out / "videos" / f"{i:03d}_{safe_name(name)}"
        if mp4:
            files["mp4"].append(str(write_video(stem.with_suffix(".mp4"), frames, fps)))
        files["gif"].append(str(write_gif(stem.with_suffix(".gif"), frames, fps)))
    files["grid"] = str(write_png(out / "grid.png", frame_grid(videos)))
    record = {"videos": videos, "names": list(names), "targets": targets.detach().float().cpu(),
              "settings": dict(settings), "class_names": list(class_names)}
    with atomic_path(out / "videos.pt") as tmp:
        torch.save(record, tmp)
    files["record"] = str(out / "videos.pt")
    return files


def load_synthesis(path: str | os.PathLike, command: str) -> dict[str, Any]:
    """Read a run's ``videos.pt``; a missing file names the command that makes it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"synthesized videos not found at {str(path)!r}; make them with: {command}")
    return safe_load(path, "synthesized videos")
