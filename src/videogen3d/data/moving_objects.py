"""The moving-objects dataset of seed 003 (§4.1): 11 classes, 128x96 px, 16 frames, 200 clips/class.

Each clip is one sprite (car, rocket, airplane, ship, bicycle, balloon; see
:mod:`videogen3d.data.sprites`) crossing a white background in one direction, with a random
size, speed, start position and body colour. Opposite directions of one object share every
distribution except the heading (the sprite is mirrored and the path reversed), so the
direction can only be told from the motion and the orientation.

Every clip is drawn from its own generator seeded by ``(seed, partition, class, index)``, so a
bank is byte-identical for the same settings and independent of the order of rendering.
Two *partitions* are rendered from disjoint seed streams: ``main`` (the classifier and the
tempCAE train, validate and test on it) and ``judge`` (only the automated judge of
:mod:`videogen3d.synthesis.judge` trains on it; the synthesis models never see it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from videogen3d.data.cache import render_progress
from videogen3d.data.frame_bank import FrameBank
from videogen3d.data.sprites import draw_sprite, random_colour

__all__ = ["CLASS_NAMES", "PARTITIONS", "MovingObjectsSource", "render_clip", "render_bank"]

# seed 003, §4.1: "a car runs to the right/left, a rocket flies up/down, an airplane flies
# up/down, a ship runs to the right/left, a bicycle runs to the right/left, a balloon flies up"
CLASS_NAMES: tuple[str, ...] = (
    "car_right", "car_left", "rocket_up", "rocket_down", "airplane_up", "airplane_down",
    "ship_right", "ship_left", "bicycle_right", "bicycle_left", "balloon_up",
)
PARTITIONS: dict[str, int] = {"main": 0, "judge": 1}
_VERSION = 1  # bump when the drawings change, so stale caches are not reused


def _paste(frame: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    """Alpha-composite float RGBA ``sprite`` onto float RGB ``frame`` at (x, y), clipped to the frame."""
    H, W = frame.shape[:2]
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    s = sprite[y0 - y: y1 - y, x0 - x: x1 - x]
    a = s[..., 3:4]
    frame[y0:y1, x0:x1] = a * s[..., :3] + (1 - a) * frame[y0:y1, x0:x1]


def render_clip(class_name: str, rng: np.random.Generator, frame_size: Sequence[int], clip_len: int) -> np.ndarray:
    """One clip of ``class_name``: ``uint8 (clip_len, H, W, 3)`` on white."""
    if class_name not in CLASS_NAMES:
        raise ValueError(f"unknown moving-objects class {class_name!r}; expected one of {list(CLASS_NAMES)}")
    H, W = (int(v) for v in frame_size)
    kind, heading = class_name.split("_")
    horizontal = heading in ("right", "left")
    reverse = heading in ("left", "down")
    # size: the sprite's height-scale is 22-38% of the frame height (both sizes of the paper's Figure 4)
    scale = rng.uniform(0.22, 0.38) * H
    colour = random_colour(rng)
    sprite = draw_sprite(kind, scale, colour, mirror_x=reverse and horizontal, mirror_y=reverse and not horizontal)
    sh, sw = sprite.shape[:2]
    # along the motion axis (canonical heading: +x for right, -y for up): travel 35-75% of that side
    along, across = (W, H) if horizontal else (H, W)
    s_along, s_across = (sw, sh) if horizontal else (sh, sw)
    travel = rng.uniform(0.35, 0.75) * along
    lo, hi = -0.25 * s_along, along - travel - 0.75 * s_along
    start = rng.uniform(lo, max(lo, hi))
    pos_across = rng.uniform(0, max(0.0, across - s_across))
    t = np.arange(clip_len) / max(clip_len - 1, 1)
    pos_along = start + travel * t  # (T,) canonical: increasing coordinate
    if horizontal:
        xs = W - s_along - pos_along if reverse else pos_along
        ys = np.full(clip_len, pos_across)
    else:  # "up" decreases y; "down" is its mirror image
        ys = pos_along if reverse else H - s_along - pos_along
        xs = np.full(clip_len, pos_across)
    clip = np.ones((clip_len, H, W, 3), np.float32)
    for i in range(clip_len):  # 16 small pastes per clip
        _paste(clip[i], sprite, int(round(xs[i])), int(round(ys[i])))
    return np.clip(np.round(clip * 255), 0, 255).astype(np.uint8)


def render_bank(frame_size: Sequence[int], clip_len: int, clips_per_class: int, *, seed: int = 0,
                partition: str = "main", fps: float = 8.0) -> FrameBank:
    """All clips of one partition, class-major (class 0's clips first): a labelled :class:`FrameBank`."""
    if partition not in PARTITIONS:
        raise ValueError(f"unknown moving-objects partition {partition!r}; expected one of {list(PARTITIONS)}")
    if clips_per_class < 1 or clip_len < 2:
        raise ValueError(f"need clips_per_class >= 1 and clip_len >= 2, got {clips_per_class} and {clip_len}")
    clips, labels, names = [], [], []
    every = [(c, name, i) for c, name in enumerate(CLASS_NAMES) for i in range(clips_per_class)]
    for c, name, i in render_progress(every, len(every), f"render moving objects ({partition})"):
        rng = np.random.default_rng([int(seed), PARTITIONS[partition], c, i])
        clips.append(render_clip(name, rng, frame_size, clip_len))
        labels.append(c)
        names.append(f"{partition}/{name}/{i:04d}")
    target = np.concatenate(clips)  # (S*T, H, W, 3)
    offsets = np.arange(len(clips) + 1, dtype=np.int64) * clip_len
    return FrameBank(target=target, offsets=offsets, labels=np.asarray(labels, np.int64), names=names,
                     fps=fps, class_names=list(CLASS_NAMES))


class MovingObjectsSource:
    """A ``VideoDataModule`` source: ``load(data_dir)`` renders (once) and returns the bank.

    The bank is cached atomically at ``data_dir/moving_objects/<key>.npz``; the key holds every
    setting that changes the pixels. ``frame_size`` is ``(height, width)``; the paper's is
    ``(96, 128)`` with ``clip_len`` 16 (seed 003, §4.1). Each sequence is exactly one clip, so
    the data module should cut it with ``clip_len`` equal to this ``clip_len``.
    """

    def __init__(self, frame_size: Sequence[int] = (96, 128), clip_len: int = 16, clips_per_class: int = 200,
                 partition: str = "main", seed: int = 0, fps: float = 8.0, cache: bool = True) -> None:
        if partition not in PARTITIONS:
            raise ValueError(f"moving_objects partition={partition!r} is unknown; expected one of {list(PARTITIONS)}")
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.clip_len, self.clips_per_class = int(clip_len), int(clips_per_class)
        self.partition, self.seed, self.fps, self.cache = partition, int(seed), float(fps), bool(cache)

    @property
    def class_names(self) -> list[str]:
        return list(CLASS_NAMES)

    def cache_path(self, data_dir: str | os.PathLike) -> Path:
        h, w = self.frame_size
        key = f"{self.partition}_{w}x{h}x{self.clip_len}_n{self.clips_per_class}_s{self.seed}_v{_VERSION}"
        return Path(data_dir) / "moving_objects" / f"{key}.npz"

    def load(self, data_dir: str | os.PathLike) -> FrameBank:
        path = self.cache_path(data_dir)
        if self.cache and path.is_file():
            return FrameBank.load(path)
        bank = render_bank(self.frame_size, self.clip_len, self.clips_per_class, seed=self.seed,
                           partition=self.partition, fps=self.fps)
        if self.cache:
            bank.save(path)
        return bank

    def __repr__(self) -> str:
        h, w = self.frame_size
        return (f"MovingObjectsSource({self.partition}, {w}x{h}x{self.clip_len}, "
                f"{self.clips_per_class}/class, seed={self.seed})")
