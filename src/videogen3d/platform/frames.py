"""Split videos into frame folders and join frame folders back into MP4s (seed 000 §5.3).

A frame folder holds ``000000.png`` (or ``.jpg``), ``000001.png``, ... and a ``frames.json``
with its frame rate, size and source, so ``join`` and ``build`` know the rate without being told.

``split`` decodes with PyAV rather than decord because it needs every frame's timestamp: a new
frame rate is reached by *frame selection* on the time axis (output frame ``i`` at time ``i / fps``
is the last source frame shown at that time), which also turns a variable-frame-rate source into
a constant-rate frame folder. Nothing is left half-written: a folder is filled under a hidden
temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from videogen3d.data.video_io import VideoReadError, verify_video, write_video
from videogen3d.utils.progress import track
from videogen3d.utils.io import check_output

log = logging.getLogger(__name__)

__all__ = ["IMAGE_EXTENSIONS", "parse_size", "iter_frames", "split_video", "list_frames", "is_frame_folder",
           "read_frame_folder", "folder_fps", "join_frames", "META"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
META = "frames.json"
Size = tuple[int, int]  # (height, width)


def parse_size(text: str | int | None) -> Size | None:
    """``"72x128"`` (HEIGHTxWIDTH), ``"64"`` or ``64`` -> ``(h, w)``; ``None`` stays ``None``."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(text))
    if not m or int(m.group(1)) <= 0 or (m.group(2) is not None and int(m.group(2)) <= 0):
        raise ValueError(f"size {text!r}: expected HEIGHTxWIDTH (e.g. 72x128) or one number for square frames")
    h = int(m.group(1))
    return (h, int(m.group(2)) if m.group(2) else h)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise VideoReadError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "file is empty")


def iter_frames(
    path: str | os.PathLike, size: Size | None = None, fps: float | None = None
) -> tuple[float, int | None, Iterator[np.ndarray]]:
    """``(fps, approximate frame count or None, iterator of uint8 (H, W, 3) frames)`` of one video.

    ``fps=None`` yields every frame at the stream's average rate; a number resamples by frame
    selection on the timestamps. Raises :class:`VideoReadError` naming the file when it cannot be
    opened, has no video stream, or fails to decode at any frame (a truncated file is an error, never
    a shorter folder).
    """
    import av

    path = Path(path)
    _check_file(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoReadError(path, f"not a decodable video ({str(exc)[:200]})") from exc
    if not container.streams.video:
        container.close()
        raise VideoReadError(path, "the file has no video stream")
    stream = container.streams.video[0]
    src_fps = float(stream.average_rate or stream.guessed_rate or 25.0)
    out_fps = float(fps) if fps else src_fps
    if out_fps <= 0:
        container.close()
        raise ValueError(f"fps must be positive, got {fps!r}")
    n_src = int(stream.frames) or None
    approx = n_src if not fps or n_src is None else max(int(round(n_src * out_fps / src_fps)), 1)
    kwargs = {} if size is None else {"height": size[0], "width": size[1]}

    def decoded() -> Iterator[tuple[float | None, float | None, np.ndarray]]:
        n = 0
        try:
            for frame in container.decode(stream):
                dur = getattr(frame, "duration", None)
                dur = float(dur * frame.time_base) if dur and frame.time_base else None
                yield frame.time, dur, frame.to_ndarray(format="rgb24", **kwargs)
                n += 1
        except av.FFmpegError as exc:
            raise VideoReadError(path, f"decoding failed after {n} frames ({str(exc)[:200]})") from exc
        finally:
            container.close()
        if n == 0:
            raise VideoReadError(path, "no frames in the video stream")

    def every() -> Iterator[np.ndarray]:
        for _, _, image in decoded():
            yield image

    def selected() -> Iterator[np.ndarray]:
        # slot i (time i / out_fps) takes the last frame whose time is <= the slot's time
        slot, t0, prev, prev_t, prev_dur, k = 0, None, None, 0.0, None, 0
        for t, dur, image in decoded():
            t = k / src_fps if t is None else t
            t0 = t if t0 is None else t0
            t, k = t - t0, k + 1
            while prev is not None and slot / out_fps < t - 1e-6:
                yield prev
                slot += 1
            prev, prev_t, prev_dur = image, t, dur
        end = prev_t + (prev_dur or 1.0 / src_fps)  # the last frame lasts its own duration (or one period)
        while prev is not None and slot / out_fps < end - 1e-6:
            yield prev
            slot += 1

    return out_fps, approx, (selected() if fps else every())


def split_video(
    path: str | os.PathLike, out_dir: str | os.PathLike, fps: float | None = None, size: Size | None = None,
    image_format: str = "png", overwrite: bool = False,
) -> Path:
    """Write ``path``'s frames to ``out_dir/<stem>/NNNNNN.<format>`` with ``frames.json``; returns the folder.

    The file is first decoded whole by :func:`verify_video` (the check of ``videogen3d check``), so a
    truncated file raises :class:`VideoReadError` and leaves nothing behind. An existing
    ``out_dir/<stem>`` is refused unless ``overwrite``.
    """
    from PIL import Image

    if image_format not in ("png", "jpg"):
        raise ValueError(f"image format {image_format!r}: expected png or jpg")
    path = Path(path)
    final = check_output(Path(out_dir) / path.stem, [path], overwrite, flag="--out folder")
    verify_video(path)
    rate, approx, frames = iter_frames(path, size, fps)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=final.parent))
    try:
        n, shape = 0, None
        for n, image in enumerate(track(frames, f"split {path.name}", approx), start=1):
            shape = image.shape
            options = {"quality": 95} if image_format == "jpg" else {}
            Image.fromarray(image).save(tmp / f"{n - 1:06d}.{image_format}", **options)
        meta = {"fps": rate, "frames": n, "height": shape[0], "width": shape[1], "source": str(path.resolve())}
        (tmp / META).write_text(json.dumps(meta, indent=1))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final


def list_frames(folder: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder in frame order (numbers in names compared as numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder {str(folder)!r} does not exist")
    images = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
    if not images:
        raise FileNotFoundError(f"frame folder {str(folder)!r} holds no {', '.join(IMAGE_EXTENSIONS)} images")

    def key(p: Path) -> list:
        return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.stem)]

    return sorted(images, key=key)


def is_frame_folder(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir())


def folder_fps(folder: str | os.PathLike, default: float | None = None) -> float | None:
    """The frame rate recorded by ``split`` in ``frames.json``, else ``default``."""
    meta = Path(folder) / META
    if meta.is_file():
        try:
            return float(json.loads(meta.read_text())["fps"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable %s", meta)
    return default


def read_frame_folder(
    folder: str | os.PathLike, size: Size | None = None, max_frames: int | None = None
) -> tuple[np.ndarray, float | None]:
    """``(uint8 (T, H, W, 3), fps or None)``; every image must have the first one's size (or is resized to ``size``)."""
    from PIL import Image, UnidentifiedImageError

    files = list_frames(folder)[: max_frames or None]
    frames: list[np.ndarray] = []
    for p in track(files, f"read {Path(folder).name}"):
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
                if size is not None and im.size != (size[1], size[0]):
                    im = im.resize((size[1], size[0]), Image.BILINEAR)
                frames.append(np.asarray(im))
        except (OSError, UnidentifiedImageError) as exc:
            raise VideoReadError(p, f"not a readable image ({exc})") from exc
        if frames[-1].shape != frames[0].shape:
            raise ValueError(f"frame {str(p)!r} is {frames[-1].shape[1]}x{frames[-1].shape[0]} (WxH) but "
                             f"{files[0].name} is {frames[0].shape[1]}x{frames[0].shape[0]}; pass a size to resize all")
    return np.stack(frames), folder_fps(folder)


def join_frames(folder: str | os.PathLike, out: str | os.PathLike, fps: float | None = None,
                crf: int = 18, overwrite: bool = False) -> Path:
    """Encode a frame folder to an H.264 MP4 at ``fps`` (default: the rate in ``frames.json``, else 25);
    ``out`` must not be the folder or one of its images, nor exist unless ``overwrite``."""
    check_output(out, [folder, *(list_frames(folder) if Path(folder).is_dir() else [])], overwrite)
    frames, meta_fps = read_frame_folder(folder)
    rate = fps or meta_fps or 25.0
    if not (fps or meta_fps):
        log.warning("%s has no %s; joining at %.3g fps (pass --fps)", folder, META, rate)
    return write_video(out, frames, rate, crf=crf)
