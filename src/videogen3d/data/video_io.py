"""Video, GIF and PNG reading and writing: decord decodes, PyAV encodes, Pillow writes images.

Frames are ``uint8`` ``(T, H, W, 3)`` RGB everywhere (CONTRIBUTING.md). Every writer goes
through :func:`videogen3d.utils.io.atomic_path`, so a file appears whole or not at all.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from videogen3d.utils.io import atomic_path

__all__ = ["VideoReadError", "read_video", "probe_video", "verify_video", "write_video", "write_gif", "write_png"]

Size = tuple[int, int]  # (height, width)


class VideoReadError(RuntimeError):
    """A video file could not be decoded; ``path`` names it and ``reason`` says why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read video {self.path!r}: {reason}")


def _as_size(size: int | Size | None) -> Size | None:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    h, w = (int(s) for s in size)
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    return (h, w)


def _open_reader(path: str | os.PathLike, size: Size | None = None):
    """A decord VideoReader made inside the call (readers are not shared across threads/workers)."""
    import decord  # local: decord is slow to import and only the readers need it

    path = Path(path)
    if not path.is_file():
        raise VideoReadError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "file is empty")
    kwargs = {} if size is None else {"height": size[0], "width": size[1]}
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1, **kwargs)
    except Exception as exc:  # decord raises DECORDError / RuntimeError with ffmpeg's words
        if "cannot find video stream" in str(exc):
            raise VideoReadError(path, "the file has no video stream") from exc
        raise VideoReadError(path, f"not a decodable video ({str(exc).splitlines()[0][:200]})") from exc
    if len(reader) == 0:
        raise VideoReadError(path, "no frames in the video stream")
    return reader


def read_video(
    path: str | os.PathLike, size: int | Size | None = None, max_frames: int | None = None
) -> tuple[np.ndarray, float]:
    """Decode a whole video (or its first ``max_frames``) into ``uint8 (T, H, W, 3)`` and its fps.

    ``size`` is ``(height, width)`` (or an int for square frames); the decoder's scaler resizes
    while decoding. decord decodes; where its frame copy fails (decord 0.6 rejects some frame
    widths whose rows are padded, e.g. 48 px) PyAV decodes instead. Raises
    :class:`VideoReadError` naming the file when neither can read it.
    """
    size = _as_size(size)
    reader = _open_reader(path, size)
    n = len(reader) if max_frames is None else max(min(len(reader), int(max_frames)), 1)
    try:
        frames = reader.get_batch(list(range(n))).asnumpy()
        fps = float(reader.get_avg_fps())
    except Exception as exc:
        try:
            frames, fps = _read_pyav(path, size, n)
        except Exception:
            raise VideoReadError(path, f"decoding failed ({str(exc).splitlines()[0][:200]})") from exc
    finally:
        del reader
    if frames.ndim != 4 or frames.shape[0] == 0 or frames.shape[-1] != 3:
        raise VideoReadError(path, f"decoded no RGB frames (got array of shape {frames.shape})")
    if not np.isfinite(fps) or fps <= 0:
        fps = 25.0  # some containers carry no rate; 25 is ffmpeg's own fallback
    return np.ascontiguousarray(frames, dtype=np.uint8), fps


def _read_pyav(path: str | os.PathLike, size: Size | None, max_frames: int) -> tuple[np.ndarray, float]:
    import av

    kwargs = {} if size is None else {"height": size[0], "width": size[1]}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24", **kwargs))
            if len(frames) >= max_frames:
                break
        rate = stream.average_rate or stream.guessed_rate
    return np.stack(frames), float(rate) if rate else 25.0


def probe_video(path: str | os.PathLike) -> dict:
    """``dict(frames, fps, width, height)`` of a video, without decoding its frames."""
    reader = _open_reader(path)
    h, w = reader[0].shape[:2]
    return {"frames": len(reader), "fps": float(reader.get_avg_fps()), "width": int(w), "height": int(h)}


def verify_video(path: str | os.PathLike) -> dict:
    """``probe_video``'s dict after decoding every frame (at 32x32, cheaply), so data broken after a
    readable start (a truncated file) raises :class:`VideoReadError` too; ``frames`` is the count decoded.
    The one decode check of ``videogen3d check`` and ``videogen3d split``."""
    info = probe_video(path)
    frames, _ = read_video(path, size=(32, 32))
    return {**info, "frames": len(frames)}


def _to_uint8_frames(frames: np.ndarray | torch.Tensor, ndim: int = 4) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != ndim or frames.shape[-1] != 3:
        want = "(T, H, W, 3)" if ndim == 4 else "(H, W, 3)"
        raise ValueError(f"expected uint8 frames {want}, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames, got dtype {frames.dtype}; convert with to_uint8 first")
    return np.ascontiguousarray(frames)


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray | torch.Tensor,
    fps: float,
    codec: str = "libx264",
    crf: int = 18,
) -> Path:
    """Encode ``uint8 (T, H, W, 3)`` frames to ``path`` (yuv420p); odd sizes are edge-padded to even."""
    import av

    frames = _to_uint8_frames(frames)
    if len(frames) == 0:
        raise ValueError(f"no frames to write to {str(path)!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:  # yuv420p needs even sizes
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    path = Path(path)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w") as container:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            if codec in ("libx264", "libx265"):
                stream.options = {"crf": str(int(crf))}
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return path


def write_gif(path: str | os.PathLike, frames: np.ndarray | torch.Tensor, fps: float) -> Path:
    """Write ``uint8 (T, H, W, 3)`` frames as a looping GIF."""
    from PIL import Image

    frames = _to_uint8_frames(frames)
    if len(frames) == 0:
        raise ValueError(f"no frames to write to {str(path)!r}")
    images = [Image.fromarray(f) for f in frames]
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:],
            duration=max(int(round(1000 / fps)), 20), loop=0,
        )
    return path


def write_png(path: str | os.PathLike, image: np.ndarray | torch.Tensor) -> Path:
    """Write one ``uint8 (H, W, 3)`` image as PNG."""
    from PIL import Image

    image = _to_uint8_frames(image, ndim=3)
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return path
