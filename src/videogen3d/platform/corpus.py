"""Test videos and the bad-file corpus, and ``check``: which files decode and why not (seed 000 §5.3).

The platform takes the user's own files, so it must say clearly which one is broken and why,
never hang on it, and never let it stop a training run that was told to skip bad files. The
writers here make real encoded videos with PyAV (independently of ``videogen3d``'s own writer)
and every kind of bad input the platform is tested against.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from videogen3d.data.video_io import VideoReadError, verify_video

__all__ = ["moving_frames", "encode", "encode_vfr", "write_audio_only", "write_bad_corpus", "check_videos"]


def moving_frames(n: int, size: tuple[int, int] = (32, 32), seed: int = 0) -> np.ndarray:
    """``uint8 (n, H, W, 3)``: a smooth colour gradient with a bright square moving right (codec friendly)."""
    h, w = size
    base = np.random.default_rng(seed).uniform(40, 200, size=3)
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), np.float64)
    for c in range(3):
        frames[..., c] = base[c] + 30 * np.sin(x / w * np.pi + c + y / h)[None]
    side = max(min(h, w) // 4, 2)
    for t in range(n):
        x0 = (t * 2) % max(w - side, 1)
        frames[t, h // 4 : h // 4 + side, x0 : x0 + side] = 240
    return frames.round().astype(np.uint8)


def encode(path: str | os.PathLike, frames: np.ndarray, fps: float = 10, codec: str = "libx264",
           options: dict | None = None) -> Path:
    """Encode ``uint8 (T, H, W, 3)`` with PyAV (``codec``: libx264, mpeg4, libvpx-vp9, ...)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "10"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    return path


def encode_vfr(path: str | os.PathLike, frames: np.ndarray, durations_ms: list[int]) -> Path:
    """H.264 with variable frame rate: frame ``i`` is shown ``durations_ms[i % len(durations_ms)]`` ms."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = tb
        pts = 0
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts, frame.time_base = pts, tb
            pts += durations_ms[i % len(durations_ms)]
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def write_audio_only(path: str | os.PathLike, seconds: float = 0.5, rate: int = 16000) -> Path:
    """A valid MP4/M4A container holding one AAC audio stream and no video stream."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        for i in range(max(int(seconds * rate) // 1024, 1)):
            tone = np.sin(np.arange(1024) / 8.0 + i)[None].astype(np.float32) * 0.1
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def write_bad_corpus(folder: str | os.PathLike, size: tuple[int, int] = (32, 32)) -> dict[str, Path]:
    """Unreadable files, each with its own failure: ``{kind: path}``.

    empty (zero bytes), text (a text file named .mp4), truncated (an H.264 MP4 cut in half, its
    index at the front so the container opens but the frames are gone), audio_only (no video stream).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "text.mp4"
    text.write_text("this is a text file, not a video\n")
    full = encode(folder / ".full.mp4", moving_frames(30, size, seed=7), options={"movflags": "faststart"})
    data = full.read_bytes()
    full.unlink()
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    return {"empty": empty, "text": text, "truncated": truncated,
            "audio_only": write_audio_only(folder / "audio_only.mp4")}


def check_videos(paths: list[str | os.PathLike]) -> list[dict]:
    """``[{path, ok, frames, fps, width, height} or {path, ok: False, reason}]`` for every file;
    every frame is decoded (at 32x32), so data broken after a readable start is found too."""
    from videogen3d.utils.progress import track

    report = []
    for p in track(list(paths), "check"):
        try:
            report.append({"path": str(p), "ok": True, **verify_video(p)})
        except VideoReadError as exc:
            report.append({"path": str(p), "ok": False, "reason": exc.reason})
    return report
