"""Procedural paired dance datasets: the stand-ins for the seed's Miku datasets (seed 000, 5.1).

``stick -> puppet_a`` is Stick-to-Miku, ``puppet_a -> puppet_b`` is Miku-to-Miku. The seed has
about 3000 frame pairs in its small sets and 10000 in the full one; ``size`` picks those.
Each sequence is one dance, deterministic from ``(seed, sequence index)``; the rendered
:class:`FrameBank` is cached once under ``data_dir`` and read back afterwards.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from videogen3d.data.cache import as_frame_size, cache_key, load_or_build, render_progress
from videogen3d.data.frame_bank import FrameBank
from videogen3d.data.render.skeleton import dance
from videogen3d.data.render.styles import STYLES, render

log = logging.getLogger(__name__)

RENDER_VERSION = 1  # bump when the renderer's output changes: old caches then miss
SIZES = {"small": (60, 50), "full": (100, 100)}  # (sequences, frames each): 3000 / 10000 pairs


class SyntheticPairsSource:
    """Render (or read from cache) paired dance videos: ``cond`` in one style, ``target`` in another.

    ``size`` is ``small`` (60 x 50 frames) or ``full`` (100 x 100 frames); ``num_sequences`` and
    ``num_frames`` override it (tiny tests). ``cond_style=None`` gives an unpaired bank.
    """

    def __init__(
        self,
        cond_style: str | None = "stick",
        target_style: str = "puppet_a",
        size: str = "small",
        num_sequences: int | None = None,
        num_frames: int | None = None,
        frame_size: int | tuple[int, int] = 64,
        seed: int = 0,
        fps: float = 25.0,
        name: str | None = None,
        cache: bool = True,
        num_threads: int | None = None,
    ):
        for key, style in (("cond_style", cond_style), ("target_style", target_style)):
            if style is not None and style not in STYLES:
                raise ValueError(f"{key}={style!r} is not a render style; expected one of {STYLES}")
        if size not in SIZES:
            raise ValueError(f"size={size!r} is not known; expected one of {sorted(SIZES)}")
        self.cond_style, self.target_style, self.size = cond_style, target_style, size
        default_seqs, default_frames = SIZES[size]
        self.num_sequences = int(num_sequences or default_seqs)
        self.num_frames = int(num_frames or default_frames)
        if self.num_sequences < 1 or self.num_frames < 1:
            raise ValueError(f"num_sequences and num_frames must be >= 1, got {self.num_sequences}, {self.num_frames}")
        self.frame_size = as_frame_size(frame_size)
        self.seed, self.fps, self.cache = int(seed), float(fps), bool(cache)
        self.name = name or (f"{cond_style}_to_{target_style}" if cond_style else target_style)
        self.num_threads = num_threads or min(os.cpu_count() or 1, 8)

    @property
    def has_condition(self) -> bool:
        return self.cond_style is not None

    class_names = None  # unlabelled

    # ------------------------------------------------------------------ cache
    def params(self) -> dict:
        """Everything the rendered frames depend on (the cache key)."""
        return {
            "version": RENDER_VERSION, "cond": self.cond_style, "target": self.target_style,
            "sequences": self.num_sequences, "frames": self.num_frames, "frame_size": list(self.frame_size),
            "seed": self.seed, "fps": self.fps,
        }  # fmt: skip

    def cache_path(self, data_dir: str | os.PathLike) -> Path:
        return Path(data_dir) / f"{self.name}-{cache_key(self.params())}.pt"

    def load(self, data_dir: str | os.PathLike | None) -> FrameBank:
        """The cached bank under ``data_dir`` if there is one, else render it (and cache it)."""
        path = None if data_dir is None or not self.cache else self.cache_path(data_dir)
        return load_or_build(path, self.render)

    # ------------------------------------------------------------------ render
    def sequence(self, index: int) -> dict[str, torch.Tensor]:
        """One sequence's frames: ``{"target": uint8 (T, H, W, 3)[, "cond": ...]}``."""
        h, w = self.frame_size
        joints = dance(self.num_frames, np.random.default_rng([self.seed, index]), self.fps, h, w)
        out = {"target": render(self.target_style, joints, h, w)}
        if self.cond_style is not None:
            out["cond"] = render(self.cond_style, joints, h, w)
        return out

    def render(self) -> FrameBank:
        start = time.perf_counter()
        n, t = self.num_sequences, self.num_frames
        h, w = self.frame_size
        keys = ("target", "cond") if self.cond_style is not None else ("target",)
        frames = {k: torch.empty((n * t, h, w, 3), dtype=torch.uint8) for k in keys}

        def work(s: int) -> None:  # torch ops release the GIL, so threads share the cores
            for k, v in self.sequence(s).items():
                frames[k][s * t : (s + 1) * t] = v

        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)  # parallel over sequences, not inside small ops
            with ThreadPoolExecutor(self.num_threads) as pool:
                list(render_progress(pool.map(work, range(n)), n, f"render {self.name} ({h}x{w})"))
        finally:
            torch.set_num_threads(threads)
        log.info("rendered %s: %d x %d frames at %dx%d in %.1fs", self.name, n, t, h, w, time.perf_counter() - start)
        return FrameBank(
            target=frames["target"],
            offsets=torch.arange(n + 1, dtype=torch.int64) * t,
            cond=frames.get("cond"),
            names=[f"{self.name}-{s:04d}" for s in range(n)],
            fps=self.fps,
        )

    def __repr__(self) -> str:
        return f"SyntheticPairsSource({self.params()})"
