"""Synthetic dance pairs (seed 000 §5.1 stand-ins): deterministic, aligned, constant costumes, cached."""

import numpy as np
import pytest
import torch

from videogen3d.data.render.skeleton import J, dance
from videogen3d.data.render.styles import BACKGROUND, render
from videogen3d.data.synthetic import SIZES, SyntheticPairsSource

TINY = dict(num_sequences=3, num_frames=8, frame_size=32)
BG = torch.tensor(BACKGROUND) * 255


def figure_mask(frames: torch.Tensor) -> torch.Tensor:
    """Pixels away from the common background, ``(T, H, W)`` bool."""
    return ((frames.float() - BG).abs() > 12).any(-1)


@pytest.mark.parametrize("cond,target", [("stick", "puppet_a"), ("puppet_a", "puppet_b")])
def test_same_seed_same_bytes_other_seed_differs(cond, target):
    a = SyntheticPairsSource(cond, target, seed=3, **TINY).render()
    b = SyntheticPairsSource(cond, target, seed=3, **TINY).render()
    c = SyntheticPairsSource(cond, target, seed=4, **TINY).render()
    assert a.target.shape == (24, 32, 32, 3) and a.cond.shape == a.target.shape and a.offsets.tolist() == [0, 8, 16, 24]
    assert a.target.numpy().tobytes() == b.target.numpy().tobytes()
    assert a.cond.numpy().tobytes() == b.cond.numpy().tobytes()
    assert not torch.equal(a.target, c.target) and not torch.equal(a.cond, c.cond)
    assert not torch.equal(a.target[:8], a.target[8:16])  # sequences differ from each other


def test_condition_and_target_are_aligned_frame_by_frame():
    size, rng_seed = 64, (5, 0)
    joints = dance(12, np.random.default_rng(rng_seed), height=size)
    stick, puppet_a, puppet_b = (render(s, joints, size) for s in ("stick", "puppet_a", "puppet_b"))
    for puppet in (puppet_a, puppet_b):
        body = figure_mask(puppet)
        # every joint (hands, feet, elbows, ...) lies on the puppet's body
        px = joints.round().astype(int).clip(0, size - 1)
        on_body = body[torch.arange(12)[:, None], px[..., 1], px[..., 0]]
        assert on_body.float().mean() > 0.97
        # the stick figure's pixels are covered by the puppet, frame by frame
        lines = figure_mask(stick)
        overlap = (lines & body).sum((1, 2)).float() / lines.sum((1, 2))
        assert (overlap > 0.85).all(), overlap
    # and the figure moves: the masks of frame 0 and frame 11 differ
    body = figure_mask(puppet_a)
    assert (body[0] ^ body[11]).float().mean() > 0.01


def dominant_colours(frame: torch.Tensor, share: float) -> set:
    """Colour bins (32 levels per channel) holding at least ``share`` of the figure's pixels."""
    pix = frame[figure_mask(frame[None])[0]] // 32
    keys = pix[:, 0].long() * 64 + pix[:, 1].long() * 8 + pix[:, 2].long()
    counts = torch.bincount(keys, minlength=512).float() / len(keys)
    return set(torch.nonzero(counts >= share).flatten().tolist())


@pytest.mark.parametrize("style", ["puppet_a", "puppet_b"])
def test_costume_colours_are_constant_over_time_and_between_sequences(style):
    frames = [render(style, dance(40, np.random.default_rng((0, s)), height=64), 64) for s in range(2)]
    first = dominant_colours(frames[0][0], 0.05)
    assert len(first) >= 3
    for seq in frames:
        for t in (0, 20, 39):
            assert first <= dominant_colours(seq[t], 0.005), (style, t)
    a = dominant_colours(render("puppet_a", dance(1, np.random.default_rng(0), height=64), 64)[0], 0.05)
    b = dominant_colours(render("puppet_b", dance(1, np.random.default_rng(0), height=64), 64)[0], 0.05)
    assert a != b  # two costumes


def test_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    src = SyntheticPairsSource(**TINY)
    bank = src.load(tmp_path)
    path = src.cache_path(tmp_path)
    assert path.is_file() and path.name.startswith("stick_to_puppet_a-")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    mtime = path.stat().st_mtime_ns

    def no_render(self):
        raise AssertionError("re-rendered instead of reading the cache")

    monkeypatch.setattr(SyntheticPairsSource, "render", no_render)
    again = SyntheticPairsSource(**TINY).load(tmp_path)
    assert torch.equal(again.target, bank.target) and torch.equal(again.cond, bank.cond)
    assert path.stat().st_mtime_ns == mtime
    other = SyntheticPairsSource(**{**TINY, "num_frames": 9})  # other parameters, other file
    assert other.cache_path(tmp_path) != path


def test_sizes_and_bad_arguments():
    assert SIZES["small"][0] * SIZES["small"][1] == 3000 and SIZES["full"][0] * SIZES["full"][1] == 10000
    full = SyntheticPairsSource(size="full")
    assert full.num_sequences * full.num_frames == 10000 and full.frame_size == (64, 64)
    with pytest.raises(ValueError, match="cond_style='stik'.*stick"):
        SyntheticPairsSource(cond_style="stik")
    with pytest.raises(ValueError, match="size='huge'"):
        SyntheticPairsSource(size="huge")
    with pytest.raises(ValueError, match="frame_size"):
        SyntheticPairsSource(frame_size=8)


def test_other_frame_sizes_render():
    bank = SyntheticPairsSource("puppet_a", "puppet_b", num_sequences=1, num_frames=2, frame_size=(48, 80)).render()
    assert bank.target.shape == (2, 48, 80, 3) and figure_mask(bank.target).any()
    assert J["wrist_l"] != J["wrist_r"]
