"""Moving-objects dataset (seed 003 §4.1): determinism, balance, geometry, caching, partitions."""

import numpy as np
import pytest
import torch

from videogen3d.data.moving_objects import CLASS_NAMES, MovingObjectsSource, render_bank, render_clip

TINY = dict(frame_size=(24, 32), clip_len=8)


def test_same_seed_same_bytes_and_other_seed_differs():
    a = render_bank(**TINY, clips_per_class=2, seed=3)
    b = render_bank(**TINY, clips_per_class=2, seed=3)
    c = render_bank(**TINY, clips_per_class=2, seed=4)
    assert a.target.numpy().tobytes() == b.target.numpy().tobytes()
    assert not torch.equal(a.target, c.target)


def test_class_balance_geometry_and_labels():
    bank = render_bank(**TINY, clips_per_class=3)
    assert bank.class_names == list(CLASS_NAMES) and len(CLASS_NAMES) == 11
    assert bank.num_sequences == 33 and tuple(bank.target.shape) == (33 * 8, 24, 32, 3)
    assert torch.bincount(bank.labels, minlength=11).tolist() == [3] * 11
    assert torch.equal(bank.lengths, torch.full((33,), 8))


def test_white_background_and_a_visible_moving_object():
    rng = np.random.default_rng(0)
    for name in CLASS_NAMES:
        clip = render_clip(name, rng, (48, 64), 16)  # (T, H, W, 3)
        nonwhite = (clip < 250).any(-1)  # (T, H, W)
        assert nonwhite.mean() < 0.4, name  # mostly white background
        assert nonwhite.any(axis=(1, 2)).sum() >= 12, name  # the object is on screen in most frames
        ys, xs = np.nonzero(nonwhite[0])
        ys2, xs2 = np.nonzero(nonwhite[-1])
        dx, dy = xs2.mean() - xs.mean(), ys2.mean() - ys.mean()
        heading = name.split("_")[1]
        expect = {"right": dx > 3, "left": dx < -3, "up": dy < -3, "down": dy > 3}[heading]
        assert expect, (name, dx, dy)


def test_source_caches_atomically_and_partitions_are_disjoint(tmp_path):
    src = MovingObjectsSource(**TINY, clips_per_class=2)
    bank = src.load(tmp_path)
    assert src.cache_path(tmp_path).is_file()
    again = src.load(tmp_path)  # from the cache
    assert torch.equal(bank.target, again.target) and again.class_names == list(CLASS_NAMES)
    judge = MovingObjectsSource(**TINY, clips_per_class=2, partition="judge").load(tmp_path)
    assert not any(torch.equal(bank.target[i * 8:(i + 1) * 8], judge.target[i * 8:(i + 1) * 8]) for i in range(22))


def test_bad_partition_and_class_are_named():
    with pytest.raises(ValueError, match="partition='val'.*main.*judge"):
        MovingObjectsSource(partition="val")
    with pytest.raises(ValueError, match="unknown moving-objects class 'boat_up'"):
        render_clip("boat_up", np.random.default_rng(0), (24, 32), 8)
