"""Motion or orientation (videogen3d.synthesis.motion): each class's twin, the four versions of a real clip, the shares
a network's readings give, and the command's refusals."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis import motion
from videogen3d.synthesis.readers import StillFramesReader, real_clips_by_class

UP, DOWN = CLASS_NAMES.index("rocket_up"), CLASS_NAMES.index("rocket_down")


def test_every_class_but_the_balloon_has_a_twin_of_the_other_direction():
    assert motion.twin("car_right") == "car_left" and motion.twin("rocket_down") == "rocket_up"
    assert motion.twin("balloon_up") is None
    assert sum(motion.twin(n) is not None for n in CLASS_NAMES) == 10


def _rows(x: torch.Tensor) -> torch.Tensor:
    """The ink's mean row per frame, ``(N, T)`` (ink: darkness below white)."""
    ink = (1 - x.mean(1)).clamp(min=0)  # (N, T, H, W)
    rows = torch.arange(x.shape[-2], dtype=x.dtype).view(1, 1, -1, 1)
    return (ink * rows).sum((2, 3)) / ink.sum((2, 3)).clamp(min=1e-6)


def test_the_versions_move_and_point_a_real_rocket_as_described():
    x = real_clips_by_class((24, 32), 8, 3, 8, [UP])[UP]
    t = motion.TRANSFORMS
    climbs = lambda v: bool((_rows(v)[:, -1] < _rows(v)[:, 0]).all())  # noqa: E731  (row 0 is the top)
    assert climbs(t["clip"](x, "rocket_up")) and climbs(t["mirror+reverse"](x, "rocket_up"))
    assert not climbs(t["mirror"](x, "rocket_up")) and not climbs(t["reverse"](x, "rocket_up"))
    # mirror: the frame flipped upside down (the pointing flips with it); reverse: the same frames in reverse order
    torch.testing.assert_close(t["mirror"](x, "rocket_up")[:, :, 0], x[:, :, 0].flip(-2))
    torch.testing.assert_close(t["reverse"](x, "rocket_up")[:, :, 0], x[:, :, -1])
    torch.testing.assert_close(t["mirror"](x, "car_right"), x.flip(-1))


class _Climb(nn.Module):
    """Reads a rocket's direction from its motion alone: rocket_up where the ink's mean row rises over the clip."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = _rows(x)
        logits = torch.zeros(len(x), len(CLASS_NAMES))
        up = r[:, -1] < r[:, 0]
        logits[up, UP] = 1.0
        logits[~up, DOWN] = 1.0
        return logits


def test_a_network_that_reads_motion_reads_a_clip_played_backwards_as_its_twin():
    clips = real_clips_by_class((24, 32), 8, 2, 8, [UP, DOWN])
    r = motion.motion_reading(_Climb(), clips)
    assert r["clip"]["class"] == 1.0 and r["mirror"]["twin"] == 1.0
    assert r["reverse"]["twin"] == 1.0 and r["mirror+reverse"]["class"] == 1.0
    assert all(abs(sum(v.values()) - 1) < 1e-6 for v in r.values())


def test_a_network_blind_to_frame_order_reads_a_clip_backwards_as_itself():
    torch.manual_seed(0)
    clips = real_clips_by_class((16, 16), 4, 3, 8, [k for k, n in enumerate(CLASS_NAMES) if motion.twin(n)])
    r = motion.motion_reading(StillFramesReader(len(CLASS_NAMES), 4, (16, 16)).eval(), clips)
    assert r["reverse"] == r["clip"] and r["mirror+reverse"] == r["mirror"]


def test_the_command_reads_the_readers_and_refuses_what_it_cannot_read(tmp_path, capsys):
    from videogen3d.synthesis.readers import main as readers

    out = tmp_path / "readers"
    assert readers(["train", "--out", str(out), "--readers", "check1,check5", "--frame-size", "16", "16", "--clip-len",
                    "4", "--clips-per-class", "2", "--epochs", "1"]) == 0
    assert motion.main(["--readers", str(out), "--clips-per-class", "2", "--json", str(tmp_path / "m.json")]) == 0
    shares = json.loads((tmp_path / "m.json").read_text())
    assert set(shares) == {"check1", "check5"} and set(shares["check5"]) == set(motion.TRANSFORMS)
    assert shares["check5"]["reverse"] == shares["check5"]["clip"]  # check5 is blind to frame order
    assert "check5" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="empty"):
        motion.main(["--readers", str(tmp_path / "empty")])
    other = tmp_path / "other"
    assert readers(["train", "--out", str(other), "--readers", "check1", "--frame-size", "24", "32", "--clip-len", "4",
                    "--clips-per-class", "2", "--epochs", "1"]) == 0
    (out / "check1.pt").replace(tmp_path / "spare.pt")
    (other / "check1.pt").replace(out / "check1.pt")
    with pytest.raises(ValueError, match="different geometries"):
        motion.main(["--readers", str(out)])
    with pytest.raises(SystemExit):
        motion.main(["--readers", str(out), "--clips-per-class", "0"])
