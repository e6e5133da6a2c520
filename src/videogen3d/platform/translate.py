"""Translate a whole video of any length with a trained generator, and the comparison video (seed 000 §5.3).

The generator was trained on short clips (``clip_len`` frames). A long video is cut into
overlapping windows of ``window`` frames, ``overlap`` frames shared by neighbours; each window's
output is weighted by a trapezoid that ramps linearly over the overlap (a linear cross-fade), and
the weighted sum is divided by the summed weights, so neighbouring windows fade into each other
and no seam shows at window borders. The last window is aligned to the video's end, so every
window is full length. T, H and W are replicate-padded to the generator's ``down_factors`` and
cropped back. The output has the source's frame count and frame rate.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from videogen3d.data.video_io import probe_video, read_video, write_video
from videogen3d.utils.progress import track
from videogen3d.platform.checkpoint import TrainedGenerator, load_generator
from videogen3d.platform.frames import Size, parse_size, read_frame_folder
from videogen3d.utils.io import check_output
from videogen3d.utils.video import uint8_to_unit, unit_to_uint8

log = logging.getLogger(__name__)

__all__ = ["window_weights", "window_starts", "pad_to_multiple", "translate_frames", "caption_bar",
           "comparison_frames", "read_input", "translate_file", "frame_metrics"]


def window_weights(window: int, overlap: int) -> torch.Tensor:
    """``(window,)`` trapezoid: ``(i + 1) / (overlap + 1)`` up, flat 1, then down; neighbours at stride
    ``window - overlap`` sum to 1 over their overlap (a linear cross-fade)."""
    i = torch.arange(window, dtype=torch.float32)
    ramp = float(overlap + 1)
    return torch.minimum(torch.ones(window), torch.minimum((i + 1) / ramp, (window - i) / ramp))


def window_starts(num_frames: int, window: int, stride: int) -> list[int]:
    """Starts of windows covering ``num_frames``: every ``stride``, plus one aligned to the end."""
    if num_frames <= window:
        return [0]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return starts


def pad_to_multiple(x: torch.Tensor, t_factor: int, s_factor: int) -> torch.Tensor:
    """Replicate-pad ``(B, C, T, H, W)`` at the end of T, H and W up to multiples of the factors."""
    t, h, w = x.shape[2:]
    pads = [(-w) % s_factor, (-h) % s_factor, (-t) % t_factor]
    if not any(pads):
        return x
    return F.pad(x, (0, pads[0], 0, pads[1], 0, pads[2]), mode="replicate")


@torch.no_grad()
def translate_frames(
    generator: TrainedGenerator | Callable[[torch.Tensor], torch.Tensor],
    frames: np.ndarray,
    window: int,
    overlap: int,
    device: str | torch.device = "cpu",
    down_factors: tuple[int, int] | None = None,
) -> np.ndarray:
    """``uint8 (T, H, W, 3)`` -> the generator's ``uint8 (T, H, W, 3)``, window by window, blended."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got shape {frames.shape}")
    if window < 1 or not 0 <= overlap < window:
        raise ValueError(f"need window >= 1 and 0 <= overlap < window, got window={window}, overlap={overlap}")
    t_factor, s_factor = down_factors or getattr(generator, "down_factors", (1, 1))
    num, h, w = frames.shape[:3]
    window = min(window, num)
    overlap = min(overlap, window - 1)
    weights = window_weights(window, overlap).to(device)
    video = torch.from_numpy(frames).to(device).permute(3, 0, 1, 2)  # (3, T, H, W) uint8
    out = torch.zeros(3, num, h, w, device=device)
    total = torch.zeros(num, device=device)
    for s in track(window_starts(num, window, window - overlap), "translate windows"):
        clip = uint8_to_unit(video[:, s : s + window])[None]  # (1, 3, window, H, W)
        fake = generator(pad_to_multiple(clip, t_factor, s_factor))[0, :3, :window, :h, :w].float()
        out[:, s : s + window] += fake.clamp(-1, 1) * weights[None, :, None, None]
        total[s : s + window] += weights
    out = out / total[None, :, None, None]
    return unit_to_uint8(out).permute(1, 2, 3, 0).cpu().numpy()


def caption_bar(captions: list[str], widths: list[int], gap: int, height: int = 16) -> np.ndarray:
    """``uint8 (height, sum(widths) + gaps, 3)``: each caption centred over its column (Pillow's default font)."""
    from PIL import Image, ImageDraw, ImageFont

    bar = Image.new("RGB", (sum(widths) + gap * (len(widths) - 1), height), (0, 0, 0))
    draw, font, x = ImageDraw.Draw(bar), ImageFont.load_default(), 0
    for text, width in zip(captions, widths):
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text((x + max((width - (right - left)) // 2, 0), max((height - (bottom - top)) // 2 - top, 0)),
                  text, fill=(255, 255, 255), font=font)
        x += width + gap
    return np.asarray(bar)


def comparison_frames(columns: list[tuple[str, np.ndarray]], gap: int = 2) -> np.ndarray:
    """Videos ``(T, H, W, 3)`` side by side under a caption bar; all are resized to the first one's H
    and cut to the shortest length."""
    from PIL import Image

    num = min(len(v) for _, v in columns)
    h = columns[0][1].shape[1]
    videos = []
    for _, v in columns:
        if v.shape[1] != h:  # e.g. a target at its source size: scale to the output's height
            w = max(int(round(v.shape[2] * h / v.shape[1])), 1)
            v = np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BILINEAR)) for f in v[:num]])
        videos.append(v[:num])
    sep = np.full((num, h, gap, 3), 255, np.uint8)
    body = np.concatenate([p for i, v in enumerate(videos) for p in ((sep, v) if i else (v,))], axis=2)
    bar = caption_bar([c for c, _ in columns], [v.shape[2] for v in videos], gap)
    return np.concatenate([np.broadcast_to(bar, (num, *bar.shape)), body], axis=1)


def read_input(path: str | os.PathLike, size: Size | None) -> tuple[np.ndarray, float]:
    """A video file or a frame folder as ``(uint8 (T, H, W, 3), fps)``."""
    path = Path(path)
    if path.is_dir():
        frames, fps = read_frame_folder(path, size)
        return frames, fps or 25.0
    return read_video(path, size)


def translate_file(
    ckpt: str | os.PathLike,
    source: str | os.PathLike,
    out: str | os.PathLike,
    target: str | os.PathLike | None = None,
    compare: str | os.PathLike | None = None,
    window: int | None = None,
    overlap: int | None = None,
    device: str = "cpu",
    size: str | Size | None = "train",
    config: str | os.PathLike | None = None,
    overwrite: bool = False,
    trust: bool = False,
) -> dict:
    """Translate ``source`` with the checkpoint's generator; write ``out`` (MP4, source fps and length),
    optionally the captioned ``compare`` video and, with a ``target``, the metrics against it.

    ``size``: ``"train"`` resizes frames to the run's ``dataset.frame_size`` (what the generator
    learnt), ``"source"`` keeps the source size (padded to the down-sampling factor), or ``HxW``.
    The reported height and width are those of the file written (H.264's yuv420p needs even sides, so
    an odd side is edge-padded by one pixel, and the report says so). ``out`` and ``compare`` must not
    be inputs and must not exist unless ``overwrite``.
    """
    inputs = [ckpt, source, target, config]
    check_output(out, inputs, overwrite)
    if compare is not None:
        check_output(compare, [*inputs, out], overwrite, flag="--compare")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA device is available; use --device cpu")
    gen = load_generator(ckpt, config, device=device, trust=trust)
    if size == "train":
        hw: Size | None = gen.frame_size
    elif size in (None, "source"):
        hw = None
    else:
        hw = parse_size(size) if isinstance(size, str) else size
    frames, fps = read_input(source, hw)
    window = int(window or gen.clip_len)
    overlap = window // 2 if overlap is None else int(overlap)
    fake = translate_frames(gen, frames, window, overlap, device)
    write_video(out, fake, fps)
    written = probe_video(out)  # the size in the file, not the array's (odd sides are padded to even)
    result: dict = {"output": str(out), "frames": len(fake), "fps": fps, "height": written["height"],
                    "width": written["width"], "window": min(window, len(frames)), "overlap": overlap}
    if (written["height"], written["width"]) != tuple(fake.shape[1:3]):
        result["padded_from"] = [int(fake.shape[1]), int(fake.shape[2])]
        log.warning("%s: %dx%d (HxW) padded to %dx%d, H.264 (yuv420p) needs even sides", out, fake.shape[1],
                    fake.shape[2], written["height"], written["width"])
    columns = [("input", frames), ("output", fake)]
    if target is not None:
        real, _ = read_input(target, fake.shape[1:3])
        if len(real) != len(fake):
            log.warning("target %s has %d frames, the output %d; compared over %d", target, len(real), len(fake),
                        min(len(real), len(fake)))
        result["metrics"] = frame_metrics(fake, real, gen.frame_size)
        columns.append(("target", real))
    if compare is not None:
        write_video(compare, comparison_frames(columns), fps)
        result["comparison"] = str(compare)
    return result


def frame_metrics(fake: np.ndarray, real: np.ndarray, frame_size: tuple[int, int]) -> dict[str, float]:
    """MSE, PSNR, SSIM and temporal error of two uint8 videos over their common length."""
    from videogen3d.metrics.video import video_metrics

    n = min(len(fake), len(real))
    if n < 2:
        return {}  # the temporal error needs two frames; a one-frame video has no metrics table

    def as_video(v: np.ndarray) -> torch.Tensor:  # (1, 3, T, H, W) in [-1, 1]
        return uint8_to_unit(torch.from_numpy(np.ascontiguousarray(v[:n])).permute(3, 0, 1, 2)[None])

    metrics = video_metrics("", frame_size=min(frame_size + tuple(fake.shape[1:3])))
    metrics.update(as_video(fake), as_video(real))
    return {k: float(v) for k, v in metrics.compute().items()}
