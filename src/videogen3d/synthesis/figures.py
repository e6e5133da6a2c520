"""The README's seed-003 figures, made from a finished run's files (nothing is trained or synthesized here).

    python -m videogen3d.synthesis.figures logs/synth/cpu docs --tag cpu

writes, from ``WORK_DIR/synthesis/<method>/videos.pt`` and ``REPORT_DIR/methods.png`` (default: WORK_DIR):

- ``synthesis_methods_<tag>.png``: a copy of the run's ``methods.png`` (per class: a real clip, then each method);
- ``synthesis_<method>_<tag>.png``: the first video of each target, one row per target in the run's order, every
  ``--every``-th frame, enlarged ``--scale`` times (nearest neighbour);
- ``synthesis_gallery/<NN>_<target>.gif``: the first video of each target as a GIF, enlarged ``--gif-scale`` times.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from videogen3d.data.video_io import write_gif, write_png
from videogen3d.synthesis.outputs import load_synthesis, safe_name
from videogen3d.utils.entry import run_main
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid, to_uint8_frames

__all__ = ["first_of_each_target", "enlarge", "write_figures", "main"]


def first_of_each_target(record: dict[str, Any]) -> tuple[torch.Tensor, list[str]]:
    """The first video of every target of a ``videos.pt`` record, in the run's order: ``(N, C, T, H, W)``, names.

    A run with several videos per target names them ``"<target>#<k>"``; one per target, ``"<target>"``."""
    videos, names = record["videos"], list(record["names"])
    if len(names) != len(videos) or not names:
        raise ValueError(f"a synthesis record needs one name per video, got {len(names)} names for {len(videos)} videos")
    keep: dict[str, int] = {}
    for i, name in enumerate(names):
        keep.setdefault(str(name).split("#", 1)[0], i)
    return videos[list(keep.values())], list(keep)


def enlarge(videos: torch.Tensor, scale: int) -> torch.Tensor:
    """``(N, C, T, H, W)`` -> ``(N, C, T, scale*H, scale*W)``, each pixel a ``scale`` x ``scale`` block."""
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale!r}")
    if scale == 1:
        return videos
    return F.interpolate(videos.float(), scale_factor=(1, scale, scale), mode="nearest")


def write_figures(work_dir: str | os.PathLike, out_dir: str | os.PathLike, tag: str, method: str = "best",
                  report_dir: str | os.PathLike | None = None, every: int = 2, scale: int = 2, gif_scale: int = 4,
                  fps: float = 8.0) -> list[Path]:
    """Write the three figures (see the module's docstring) to ``out_dir``; returns the paths written."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every!r}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps!r}")
    work, out = Path(work_dir), Path(out_dir)
    record = load_synthesis(work / "synthesis" / method / "videos.pt",
                            f"python synth.py stage=all synthesis.methods=[{method}] work_dir={work}")
    methods_png = Path(report_dir or work) / "methods.png"
    if not methods_png.is_file():
        raise FileNotFoundError(f"{str(methods_png)!r} not found: stage=evaluate writes it (python synth.py "
                                f"stage=evaluate work_dir={work})")
    videos, names = first_of_each_target(record)
    videos = videos.float().clamp(-1, 1)
    written = []
    target = out / f"synthesis_methods_{tag}.png"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(methods_png, tmp)
    written.append(target)
    rows = enlarge(videos[:, :, ::every], scale)
    written.append(write_png(out / f"synthesis_{method}_{tag}.png", frame_grid(rows, gap=2 * scale)))
    big = enlarge(videos, gif_scale)
    for i, (video, name) in enumerate(zip(big, names)):
        stem = safe_name(name.replace("+", "_and_"))
        written.append(write_gif(out / "synthesis_gallery" / f"{i:02d}_{stem}.gif", to_uint8_frames(video), fps))
    return written


def main(argv: Sequence[str] | None = None) -> list[Path]:
    p = argparse.ArgumentParser(prog="python -m videogen3d.synthesis.figures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work_dir", help="a run's work_dir (holds synthesis/<method>/videos.pt)")
    p.add_argument("out_dir", help="where the figures go (the README's: docs)")
    p.add_argument("--tag", required=True, help="names the files: synthesis_<method>_<tag>.png (the README's: cpu)")
    p.add_argument("--method", default="best")
    p.add_argument("--report-dir", default=None, help="holds methods.png (default: work_dir)")
    p.add_argument("--every", type=int, default=2, help="every n-th frame in the rows figure")
    p.add_argument("--scale", type=int, default=2, help="enlargement of the rows figure")
    p.add_argument("--gif-scale", type=int, default=4, help="enlargement of the gallery's GIFs")
    p.add_argument("--fps", type=float, default=8.0, help="the gallery's frame rate (synthesis.fps's default)")
    a = p.parse_args(argv)
    paths = write_figures(a.work_dir, a.out_dir, a.tag, a.method, a.report_dir, a.every, a.scale, a.gif_scale, a.fps)
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    run_main(main, "videogen3d.synthesis.figures")
