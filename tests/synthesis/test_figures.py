"""The README's seed-003 figures from a run's files: which videos, at what size, and errors that name the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.data.video_io import write_png
from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis.figures import enlarge, first_of_each_target, main, write_figures
from videogen3d.synthesis.outputs import write_synthesis
from videogen3d.utils.media import to_uint8_frames

T, H, W = 6, 4, 5


def _run(work: Path, per_target: int = 3) -> dict:
    targets, names = parse_targets(["car_right", "ship_left", "car_right+rocket_up"], list(CLASS_NAMES), per_target)
    videos = torch.linspace(-1, 1, len(targets))[:, None, None, None, None].expand(-1, 3, T, H, W).clone()
    videos[:, 0, :, 0, 0] = torch.linspace(-1, 1, T)  # frames differ, so the picked frames can be told apart
    write_synthesis(work / "synthesis" / "best", videos, names, targets, {}, CLASS_NAMES, mp4=False)
    write_png(work / "methods.png", np.full((7, 9, 3), 40, np.uint8))
    return {"videos": videos, "names": names}


def test_the_first_video_of_each_target_in_the_runs_order(tmp_path):
    run = _run(tmp_path)
    videos, names = first_of_each_target(run)
    assert names == ["car_right", "ship_left", "car_right+rocket_up"]
    assert torch.equal(videos, run["videos"][[0, 3, 6]])
    one, one_names = first_of_each_target({"videos": run["videos"][:2], "names": ["car_left", "balloon_up"]})
    assert one_names == ["car_left", "balloon_up"] and len(one) == 2
    with pytest.raises(ValueError, match="3 names for 2 videos"):
        first_of_each_target({"videos": run["videos"][:2], "names": ["a", "b", "c"]})


def test_enlarge_makes_blocks_and_refuses_a_bad_scale():
    v = torch.arange(2 * 3 * 2 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2, 2)
    big = enlarge(v, 3)
    assert big.shape == (2, 3, 2, 6, 6)
    assert torch.equal(big[..., ::3, ::3], v) and torch.equal(big[..., 2::3, 2::3], v)
    assert enlarge(v, 1) is v
    with pytest.raises(ValueError, match="got 0"):
        enlarge(v, 0)
    with pytest.raises(ValueError, match="got 1.5"):
        enlarge(v, 1.5)


def test_write_figures_sizes_frames_and_files(tmp_path):
    work, out = tmp_path / "run", tmp_path / "docs"
    run = _run(work)
    paths = main([str(work), str(out), "--tag", "cpu"])
    assert [p.name for p in paths[:2]] == ["synthesis_methods_cpu.png", "synthesis_best_cpu.png"]
    assert (out / "synthesis_methods_cpu.png").read_bytes() == (work / "methods.png").read_bytes()
    rows = np.asarray(Image.open(out / "synthesis_best_cpu.png").convert("RGB"))
    n, shown, s, gap = 3, T // 2, 2, 4  # every second frame, 2x, a 4-pixel gap
    assert rows.shape == (n * H * s + (n - 1) * gap, shown * W * s + (shown - 1) * gap, 3)
    # row 2 (the third target's first video, index 6), its second shown tile = frame 2, enlarged
    frame = to_uint8_frames(run["videos"][6])[2]
    tile = rows[2 * (H * s + gap): 2 * (H * s + gap) + H * s, W * s + gap: 2 * W * s + gap]
    assert np.array_equal(tile, frame.repeat(s, 0).repeat(s, 1))
    gifs = sorted((out / "synthesis_gallery").glob("*.gif"))
    assert [g.name for g in gifs] == ["00_car_right.gif", "01_ship_left.gif", "02_car_right_and_rocket_up.gif"]
    with Image.open(gifs[1]) as im:
        assert im.size == (4 * W, 4 * H) and im.n_frames == T
    assert len(paths) == 2 + 3 and all(p.is_file() for p in paths)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"synthesis/best/videos\.pt.*stage=all"):
        write_figures(tmp_path / "empty", tmp_path / "docs", "cpu")
    work = tmp_path / "run"
    _run(work)
    (work / "methods.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"methods\.png.*stage=evaluate"):
        write_figures(work, tmp_path / "docs", "cpu")
    assert not (tmp_path / "docs").exists()  # nothing half-written
    for bad, match in (({"every": 0}, "every must be >= 1, got 0"), ({"fps": 0.0}, "fps must be > 0, got 0.0")):
        with pytest.raises(ValueError, match=match):
            write_figures(work, tmp_path / "docs", "cpu", **bad)


def test_the_command_line_names_a_missing_run_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "videogen3d.synthesis.figures", str(tmp_path / "nowhere"),
                           str(tmp_path / "docs"), "--tag", "cpu"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "nowhere/synthesis/best/videos.pt" in done.stderr
