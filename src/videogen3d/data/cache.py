"""Frame-bank caching shared by every data source: build once, save atomically, read back; and the
progress bar of a long build (:func:`render_progress`)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from videogen3d.data.frame_bank import FrameBank
from videogen3d.utils.video import frame_hw

log = logging.getLogger(__name__)

T = TypeVar("T")
# renders of fewer sequences take a moment (the tests' tiny sets): no bar for them
PROGRESS_MIN_SEQUENCES = 10


def render_progress(items: Iterable[T], total: int, description: str) -> Iterator[T]:
    """``items`` (one per rendered sequence or clip) under the platform's rich progress bar on stderr, when
    there are at least ``PROGRESS_MIN_SEQUENCES`` of them; ``VIDEOGEN3D_PROGRESS=0`` silences it."""
    if total < PROGRESS_MIN_SEQUENCES:
        yield from items
        return
    from videogen3d.utils.progress import track

    yield from track(items, description, total=total)


def as_frame_size(frame_size) -> tuple[int, int]:
    """``64`` or ``[64, 96]`` (height, width) -> ``(64, 64)`` / ``(64, 96)``; refuses sizes below 16."""
    return frame_hw(frame_size, min_side=16)


def cache_key(params: dict) -> str:
    """A short stable hash of JSON-able parameters."""
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]


def load_or_build(path: str | os.PathLike | None, build: Callable[[], FrameBank]) -> FrameBank:
    """The bank cached at ``path`` if readable, else ``build()`` it and cache it there (``None``: no cache)."""
    if path is not None and Path(path).is_file():
        try:
            return FrameBank.load(path)
        except ValueError as exc:  # a truncated or foreign file: rebuild over it
            log.warning("rebuilding the cache: %s", exc)
    bank = build()
    if path is not None:
        bank.save(path)
        log.info("cached %d frames of %d sequences at %s", bank.num_frames, bank.num_sequences, path)
    return bank
