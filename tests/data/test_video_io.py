"""video_io: decord reads what PyAV wrote; writers are atomic; unreadable files are named."""

import numpy as np
import pytest
import torch
from PIL import Image

from videogen3d.data.video_io import VideoReadError, probe_video, read_video, write_gif, write_png, write_video


def test_read_video_values_frames_and_fps(make_video):
    path, written = make_video("a.mp4", n=12, size=(32, 48), fps=10)
    frames, fps = read_video(path)
    assert frames.dtype == np.uint8 and frames.shape == (12, 32, 48, 3)
    assert fps == pytest.approx(10.0)
    assert np.abs(frames.astype(int) - written).mean() < 4
    assert probe_video(path) == {"frames": 12, "fps": pytest.approx(10.0), "width": 48, "height": 32}


def test_read_video_resizes_and_truncates(make_video):
    path, _ = make_video("a.mp4", n=10, size=(32, 32))
    frames, _ = read_video(path, size=(16, 24), max_frames=4)
    assert frames.shape == (4, 16, 24, 3)
    assert read_video(path, size=16)[0].shape == (10, 16, 16, 3)


def test_write_video_round_trip_pads_odd_sizes_and_leaves_no_temp(tmp_path):
    frames = torch.zeros(6, 33, 47, 3, dtype=torch.uint8)
    frames[..., 0] = torch.arange(6).view(6, 1, 1) * 40
    frames[..., 1] = 128
    out = write_video(tmp_path / "v.mp4", frames, fps=12.5)
    back, fps = read_video(out)
    assert back.shape == (6, 34, 48, 3) and fps == pytest.approx(12.5)
    assert np.abs(back[:, :33, :47].astype(int) - frames.numpy()).mean() < 4
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 8, 8, 3), np.float32), fps=5)


def test_gif_and_png(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (3, 16, 20, 3), dtype=np.uint8)
    with Image.open(write_gif(tmp_path / "a.gif", frames, fps=5)) as gif:
        assert gif.n_frames == 3 and gif.size == (20, 16)
    with Image.open(write_png(tmp_path / "a.png", frames[0])) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), frames[0])


@pytest.mark.parametrize("content", [b"this is not a video", b""])
def test_unreadable_file_raises_video_read_error_naming_it(tmp_path, content):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoReadError, match="clip.mp4") as info:
        read_video(bad)
    assert isinstance(info.value, RuntimeError) and info.value.path == str(bad)
    with pytest.raises(VideoReadError, match="no such file"):
        read_video(tmp_path / "missing.mp4")
