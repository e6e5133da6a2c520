"""``videogen3d evaluate --results DIR``: a results page, as pix2pix's ``test.py`` writes one.

Per clip (the first ``max_clips`` of the split): the condition, generated and target clips as MP4 and
as a PNG strip (one column per frame), and the clip's metrics; ``index.html`` holds the split's metrics
(generator and identity baseline, the values ``evaluate`` prints) above one table row per clip::

    DIR/index.html
    DIR/clips/clip000_cond.mp4  clip000_cond.png  clip000_fake.mp4  clip000_fake.png  clip000_target.*

The folder is written whole or not at all: built beside ``DIR`` under a temporary name and renamed
onto it at the end. A ``DIR`` that exists and is not empty is refused unless ``overwrite``.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from pathlib import Path

import torch

from videogen3d.data.video_io import write_png, write_video
from videogen3d.metrics.video import video_metrics
from videogen3d.utils.media import frame_grid, to_uint8_frames

__all__ = ["ResultsPage", "check_output_dir"]

ROLES = (("cond", "condition"), ("fake", "generated"), ("target", "target"))


def check_output_dir(out: str | os.PathLike, inputs: list[str | os.PathLike | None] | tuple = (),
                     overwrite: bool = False, flag: str = "--results") -> Path:
    """Refuse a folder that holds one of ``inputs`` (always) or that is not empty (unless ``overwrite``),
    as ``videogen3d.utils.io.check_output`` does for files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{flag} {str(out)!r} is a file, not a folder; pick a folder for the results page")
    for src in inputs:
        if src is not None and out.resolve() in (Path(src).resolve(), *Path(src).resolve().parents):
            raise ValueError(f"{flag} {str(out)!r} holds an input of this command ({str(src)!r}); "
                             f"write the results page elsewhere")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{flag} {str(out)!r} already exists and is not empty; pass --overwrite to "
                              f"replace it (overwrite=True from Python)")
    return out


class ResultsPage:
    """Collects clips during an evaluation (``add``), then writes the page (``write``)."""

    def __init__(self, out: str | os.PathLike, max_clips: int = 16, fps: float = 8.0, frame_size=None,
                 overwrite: bool = False) -> None:
        if max_clips < 1:
            raise ValueError(f"--results-clips {max_clips}: needs at least 1 clip")
        self.out, self.max_clips, self.fps, self.overwrite = Path(out), max_clips, float(fps), overwrite
        self.metrics = video_metrics("", frame_size=frame_size)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        (self._tmp / "clips").mkdir()
        self.rows: list[dict] = []

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.max_clips

    def add(self, cond: torch.Tensor, fake: torch.Tensor, target: torch.Tensor) -> None:
        """A batch ``(B, C, T, H, W)`` in [-1, 1]: its clips' files and metrics, up to ``max_clips``."""
        for c, f, t in zip(cond, fake, target):
            if self.full:
                return
            i = len(self.rows)
            self.metrics.reset()
            values = {k: float(v) for k, v in self.metrics(f[None].float().cpu(), t[None].float().cpu()).items()}
            files = {}
            for key, video in zip(("cond", "fake", "target"), (c, f, t)):
                stem = self._tmp / "clips" / f"clip{i:03d}_{key}"
                write_video(stem.with_suffix(".mp4"), to_uint8_frames(video), fps=self.fps)
                write_png(stem.with_suffix(".png"), frame_grid([video]))
                files[key] = f"clips/{stem.name}"
            self.rows.append({"clip": i, "metrics": values, "files": files})

    def write(self, result: dict, metric_labels: dict[str, tuple[str, str]]) -> Path:
        """``index.html`` from ``result`` (``evaluate_checkpoint``'s) and the clips; renamed onto ``out``."""
        (self._tmp / "index.html").write_text(self._html(result, metric_labels))
        check_output_dir(self.out, overwrite=self.overwrite)  # again: something may have appeared meanwhile
        old = None
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.replace(self.out, old)
        os.replace(self._tmp, self.out)
        if old is not None:
            shutil.rmtree(old)
        return self.out / "index.html"

    def discard(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _html(self, result: dict, labels: dict[str, tuple[str, str]]) -> str:
        e = html.escape
        keys = list(labels)
        head = [f"<h1>videogen3d evaluate: {e(str(result['split']))} split</h1>",
                f"<p>Checkpoint <code>{e(str(result['checkpoint']))}</code>: {result['clips']} clips, "
                f"{result['frames']} frames; the first {len(self.rows)} clips are shown below.</p>",
                "<table id='summary'><tr><th>metric</th><th>generator</th><th>identity baseline</th>"
                "<th>better</th></tr>"]
        for k in keys:
            label, better = labels[k]
            head.append(f"<tr><td>{e(label)}</td><td>{result['metrics'][k]:.4f}</td>"
                        f"<td>{result['identity'][k]:.4f}</td><td>{better}</td></tr>")
        head.append("</table>")
        rows = ["<table id='clips'><tr><th>clip</th>" + "".join(f"<th>{n}</th>" for _, n in ROLES)
                + "".join(f"<th>{e(labels[k][0])}</th>" for k in keys) + "</tr>"]
        for r in self.rows:
            cells = [f"<td>{r['clip']}</td>"]
            for key, name in ROLES:
                f = r["files"][key]
                cells.append(f"<td><video src='{f}.mp4' controls loop muted></video><br>"
                             f"<img src='{f}.png' alt='{name} {r['clip']}'><br><a href='{f}.mp4'>{f}.mp4</a></td>")
            cells += [f"<td>{r['metrics'][k]:.4f}</td>" for k in keys]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        rows.append("</table>")
        style = ("<style>body{font-family:sans-serif} table{border-collapse:collapse;margin:1em 0} "
                 "td,th{border:1px solid #ccc;padding:4px;text-align:center} img{image-rendering:pixelated}</style>")
        return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>videogen3d evaluate</title>"
                f"{style}</head><body>\n" + "\n".join(head + rows) + "\n</body></html>\n")
