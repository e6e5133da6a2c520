"""Rendering many sequences shows its progress: the bar advances once per sequence and ends at N/N."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import Progress

from videogen3d.data import cache
from videogen3d.data.moving_objects import CLASS_NAMES, render_bank
from videogen3d.data.synthetic import SyntheticPairsSource
from videogen3d.utils import progress as _progress


@pytest.fixture
def bar(monkeypatch):
    """The platform's progress console redirected to a buffer; every ``advance`` counted per task."""
    out = io.StringIO()
    monkeypatch.setenv("VIDEOGEN3D_PROGRESS", "1")
    monkeypatch.setattr(_progress, "_console", Console(file=out, width=120, force_terminal=False))
    advances: list[str] = []
    real = Progress.advance

    def advance(self, task_id, amount=1.0):
        advances.append(self.tasks[task_id].description)
        real(self, task_id, amount)

    monkeypatch.setattr(Progress, "advance", advance)
    return out, advances


def test_a_synthetic_render_advances_the_bar_once_per_sequence(bar):
    out, advances = bar
    n = cache.PROGRESS_MIN_SEQUENCES + 2
    bank = SyntheticPairsSource(num_sequences=n, num_frames=2, frame_size=16, cache=False, num_threads=2).render()
    assert bank.num_sequences == n
    assert advances == ["render stick_to_puppet_a (16x16)"] * n
    assert f"{n}/{n}" in out.getvalue() and "render stick_to_puppet_a" in out.getvalue()


def test_moving_objects_render_advances_once_per_clip(bar):
    out, advances = bar
    bank = render_bank((16, 16), clip_len=2, clips_per_class=2, seed=0)
    total = 2 * len(CLASS_NAMES)
    assert bank.num_sequences == total >= cache.PROGRESS_MIN_SEQUENCES
    assert advances == ["render moving objects (main)"] * total and f"{total}/{total}" in out.getvalue()


def test_small_renders_and_progress_off_stay_quiet(bar, monkeypatch):
    out, advances = bar
    SyntheticPairsSource(num_sequences=cache.PROGRESS_MIN_SEQUENCES - 1, num_frames=2, frame_size=16,
                         cache=False).render()
    monkeypatch.setenv("VIDEOGEN3D_PROGRESS", "0")
    SyntheticPairsSource(num_sequences=cache.PROGRESS_MIN_SEQUENCES + 1, num_frames=2, frame_size=16,
                         cache=False).render()
    assert advances == [] and out.getvalue() == ""
