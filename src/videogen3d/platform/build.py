"""Build dataset manifests from folders of videos or frame folders (seed 000 §5.3, "generate datasets").

- ``build_pairs``: condition and target entries matched by name (a video's stem or a frame folder's
  name) -> a CSV ``cond,target,name,frames`` that ``dataset=video_pairs`` reads
  (``dataset.source.manifest=...``). Lengths are reconciled: a pair differing by at most
  ``tolerance`` frames is kept (and cut to the shorter when loaded), a larger difference is an
  error naming both files and their counts.
- ``build_labelled``: one sub-folder per class -> a CSV ``path,label,name,frames`` that
  ``dataset=video_folder`` reads (:class:`videogen3d.data.video_pairs.VideoFolderSource`).

Manifests always point at video files: a frame folder is encoded once (H.264, high quality) to
``<manifest stem>_videos/`` beside the manifest, so the datasets keep one decoding path. Every
entry is probed; with ``on_bad_file="skip"`` unreadable files (and mismatched pairs) are left
out and counted instead of stopping the build.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from videogen3d.data.video_io import VideoReadError, probe_video, write_video
from videogen3d.data.video_pairs import VIDEO_EXTENSIONS, ON_BAD_FILE
from videogen3d.utils.progress import track
from videogen3d.platform.frames import is_frame_folder, list_frames, read_frame_folder
from videogen3d.utils.io import atomic_path, check_output

log = logging.getLogger(__name__)

__all__ = ["BuildReport", "list_entries", "count_frames", "build_pairs", "build_labelled"]


@dataclass
class BuildReport:
    """What a build wrote: the manifest, its rows and the entries it left out (``(path, reason)``)."""

    manifest: Path
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def list_entries(folder: str | os.PathLike, key: str = "folder") -> dict[str, Path]:
    """``{name: path}`` of the videos (by stem) and frame folders (by name) directly in ``folder``."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{key} {str(folder)!r} is not a folder (of videos or frame folders)")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if (p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS) or is_frame_folder(p):
            name = p.stem if p.is_file() else p.name
            if name in found:
                raise ValueError(f"{key} {str(folder)!r} holds two entries named {name!r}: {found[name].name}, {p.name}")
            found[name] = p
    if not found:
        raise FileNotFoundError(f"{key} {str(folder)!r} holds no videos ({', '.join(VIDEO_EXTENSIONS)}) "
                                f"and no frame folders")
    return found


def count_frames(path: Path) -> int:
    """Frames of a video (probed, raises :class:`VideoReadError`) or of a frame folder."""
    return len(list_frames(path)) if path.is_dir() else int(probe_video(path)["frames"])


def _as_video(entry: Path, frames: int, video_dir: Path, fps: float | None) -> Path:
    """A video file for ``entry``: the entry itself, or its frame folder (first ``frames``) encoded once."""
    if entry.is_file():
        return entry
    out = video_dir / f"{entry.name}.mp4"
    images, meta_fps = read_frame_folder(entry, max_frames=frames)
    return write_video(out, images, fps or meta_fps or 25.0, crf=12)


def _path_text(p: Path, manifest: Path, relative: bool) -> str:
    """A file inside the manifest's folder is written relative to it (portable, and accepted by the
    datasets, which refuse paths outside the manifest's folder unless ``allow_outside=true``); one
    outside is written absolute, or relative with ``..`` when ``relative``."""
    folder = manifest.resolve().parent
    inside = p.resolve().is_relative_to(folder)
    return os.path.relpath(p.resolve(), folder) if relative or inside else str(p.resolve())


def _write_csv(manifest: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(manifest) as tmp:
        tmp.write_text(buf.getvalue())


def _check_policy(on_bad_file: str) -> None:
    if on_bad_file not in ON_BAD_FILE:
        raise ValueError(f"on_bad_file={on_bad_file!r}; expected one of {ON_BAD_FILE}")


def build_pairs(
    cond: str | os.PathLike, target: str | os.PathLike, out: str | os.PathLike, tolerance: int = 5,
    on_bad_file: str = "error", relative: bool = False, fps: float | None = None, overwrite: bool = False,
) -> BuildReport:
    """Match ``cond`` and ``target`` entries by name and write the pairs manifest ``out`` (never over one
    of the listed entries; an existing ``out`` only with ``overwrite``)."""
    _check_policy(on_bad_file)
    manifest = Path(out)
    c_entries, t_entries = list_entries(cond, "cond folder"), list_entries(target, "target folder")
    check_output(manifest, [cond, target, *c_entries.values(), *t_entries.values()], overwrite)
    only_c, only_t = sorted(set(c_entries) - set(t_entries)), sorted(set(t_entries) - set(c_entries))
    if only_c or only_t:
        raise ValueError(f"entries do not pair up by name: in {str(cond)!r} without a target: {only_c}; "
                         f"in {str(target)!r} without a condition: {only_t}")
    report = BuildReport(manifest)
    video_dir = manifest.parent / f"{manifest.stem}_videos"
    for name in track(sorted(c_entries), "build pairs"):
        c, t = c_entries[name], t_entries[name]
        try:
            nc, nt = count_frames(c), count_frames(t)
            if abs(nc - nt) > tolerance:
                raise ValueError(f"pair {name!r}: {str(c)!r} has {nc} frames and {str(t)!r} has {nt}, a difference "
                                 f"of {abs(nc - nt)} > tolerance {tolerance} (raise --tolerance or fix the files)")
        except (VideoReadError, ValueError) as exc:
            if on_bad_file == "error":
                raise
            log.warning("skipping pair %r: %s", name, exc)
            report.skipped.append((str(getattr(exc, "path", c)), str(exc)))
            continue
        n = min(nc, nt)
        c_video = _as_video(c, n, video_dir / "cond", fps)
        t_video = _as_video(t, n, video_dir / "target", fps)
        report.rows.append({"cond": _path_text(c_video, manifest, relative),
                            "target": _path_text(t_video, manifest, relative), "name": name, "frames": n})
    if not report.rows:
        raise ValueError(f"no usable pair in {str(cond)!r} / {str(target)!r} (skipped {len(report.skipped)})")
    _write_csv(manifest, ["cond", "target", "name", "frames"], report.rows)
    return report


def build_labelled(
    root: str | os.PathLike, out: str | os.PathLike, on_bad_file: str = "error", relative: bool = False,
    fps: float | None = None, overwrite: bool = False,
) -> BuildReport:
    """One sub-folder of ``root`` per class (its name is the label) -> the labelled manifest ``out`` (never
    over one of the listed entries; an existing ``out`` only with ``overwrite``)."""
    _check_policy(on_bad_file)
    root, manifest = Path(root).expanduser(), Path(out)
    if not root.is_dir():
        raise FileNotFoundError(f"root {str(root)!r} is not a folder (one sub-folder of videos per class)")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and not is_frame_folder(p))
    if not classes:
        raise FileNotFoundError(f"root {str(root)!r} has no class sub-folders")
    items = [(d.name, name, p) for d in classes for name, p in list_entries(d, "class folder").items()]
    check_output(manifest, [root, *(p for _, _, p in items)], overwrite)
    report = BuildReport(manifest)
    video_dir = manifest.parent / f"{manifest.stem}_videos"
    for label, name, p in track(items, "build labelled"):
        try:
            n = count_frames(p)
        except VideoReadError as exc:
            if on_bad_file == "error":
                raise
            log.warning("skipping %s", exc)
            report.skipped.append((str(p), str(exc)))
            continue
        video = _as_video(p, n, video_dir / label, fps)
        report.rows.append({"path": _path_text(video, manifest, relative), "label": label, "name": name, "frames": n})
    if not report.rows:
        raise ValueError(f"no readable video under {str(root)!r} (skipped {len(report.skipped)})")
    _write_csv(manifest, ["path", "label", "name", "frames"], report.rows)
    return report
