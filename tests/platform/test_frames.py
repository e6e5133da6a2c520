"""split and join on real encoded videos (H.264 and MPEG-4 Part 2), and the CLI around them."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from videogen3d.cli import main
from videogen3d.data.video_io import probe_video, read_video
from videogen3d.platform.corpus import encode, encode_vfr, moving_frames
from videogen3d.platform.frames import list_frames, parse_size, read_frame_folder, split_video


@pytest.mark.parametrize("codec, suffix", [("libx264", ".mp4"), ("mpeg4", ".avi")])
def test_split_keeps_every_frame_and_records_the_rate(tmp_path, codec, suffix):
    frames = moving_frames(15, (32, 48), seed=1)
    video = encode(tmp_path / f"clip{suffix}", frames, fps=10, codec=codec)
    folder = split_video(video, tmp_path / "frames")
    assert folder == tmp_path / "frames" / "clip"
    assert len(list_frames(folder)) == 15
    meta = json.loads((folder / "frames.json").read_text())
    assert meta["fps"] == pytest.approx(10) and meta["frames"] == 15 and (meta["height"], meta["width"]) == (32, 48)
    back, fps = read_frame_folder(folder)
    assert back.shape == frames.shape and fps == pytest.approx(10)
    assert np.abs(back.astype(int) - frames).mean() < 6


def test_split_resamples_fps_by_frame_selection_and_resizes(tmp_path):
    frames = moving_frames(20, (32, 32))
    frames[:, 0, 0] = np.arange(20)[:, None] * 12  # frame index in a corner pixel
    video = encode(tmp_path / "v.mp4", frames, fps=10)
    half = split_video(video, tmp_path / "half", fps=5, size=(16, 24), image_format="jpg")
    files = list_frames(half)
    assert len(files) == 10 and files[0].suffix == ".jpg"
    images, fps = read_frame_folder(half)
    assert images.shape == (10, 16, 24, 3) and fps == 5
    double = split_video(video, tmp_path / "double", fps=20)
    assert len(list_frames(double)) == 40  # each source frame shown twice


def test_variable_frame_rate_source_is_resampled_on_its_timestamps(tmp_path):
    frames = moving_frames(12, (32, 32))
    frames[:, :8, :8] = (np.arange(12) * 20)[:, None, None, None]  # frame index in a corner block
    video = encode_vfr(tmp_path / "vfr.mp4", frames, durations_ms=[40, 160])  # shown 40, 160, 40, ... ms
    decoded, _ = read_video(video)
    assert len(decoded) == 12  # every coded frame is decoded once
    assert len(list_frames(split_video(video, tmp_path / "all"))) == 12
    images, fps = read_frame_folder(split_video(video, tmp_path / "cfr", fps=25))  # 40 ms slots
    index = np.round(images[:, :8, :8].astype(float).mean(axis=(1, 2, 3)) / 20).astype(int)
    runs = [len(list(g)) for _, g in itertools.groupby(index)]
    assert sorted(set(index)) == list(range(12))  # no frame lost, order kept
    assert runs[:10] == [1, 4] * 5  # a 160 ms frame fills four 40 ms slots
    assert fps == 25 and len(images) == sum(runs)


def test_join_decodes_to_the_same_frames(tmp_path):
    frames = moving_frames(9, (32, 32), seed=2)
    folder = split_video(encode(tmp_path / "v.mp4", frames, fps=8), tmp_path / "f")
    assert main(["join", str(folder), "--out", str(tmp_path / "back.mp4")]) == 0
    back, fps = read_video(tmp_path / "back.mp4")
    assert back.shape == frames.shape and fps == pytest.approx(8)
    assert np.abs(back.astype(int) - frames).mean() < 6
    assert main(["join", str(folder), "--out", str(tmp_path / "fast.mp4"), "--fps", "24"]) == 0
    assert probe_video(tmp_path / "fast.mp4")["fps"] == pytest.approx(24)


def test_a_1280x720_source_is_split_and_resized(tmp_path):
    video = encode(tmp_path / "hd.mp4", moving_frames(3, (720, 1280)), fps=25)
    assert probe_video(video)["width"] == 1280
    assert main(["split", str(video), "--out", str(tmp_path / "f"), "--size", "72x128"]) == 0
    images, _ = read_frame_folder(tmp_path / "f" / "hd")
    assert images.shape == (3, 72, 128, 3)
    frames, _ = read_video(video, size=(36, 64))
    assert frames.shape == (3, 36, 64, 3)


def test_cli_split_several_videos_and_bad_options(tmp_path, capsys):
    a = encode(tmp_path / "a.mp4", moving_frames(4), fps=10)
    b = encode(tmp_path / "b.mp4", moving_frames(6), fps=10)
    assert main(["split", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "b"]
    assert main(["split", str(a), "--out", str(tmp_path / "x"), "--size", "wide"]) == 1
    assert "HEIGHTxWIDTH" in capsys.readouterr().err
    assert main(["join", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.mp4")]) == 1
    assert "nothing" in capsys.readouterr().err


def test_parse_size():
    assert parse_size("72x128") == (72, 128) and parse_size("64") == (64, 64) and parse_size(None) is None
    with pytest.raises(ValueError, match="HEIGHTxWIDTH"):
        parse_size("0x5")


def test_console_entry_runs():
    done = subprocess.run([sys.executable, "-m", "videogen3d.cli", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    for command in ("split", "join", "build", "translate", "evaluate", "check"):
        assert command in done.stdout
