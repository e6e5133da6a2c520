"""The frame traverse slider (seed 000 §5.3): exact windows, never across a sequence boundary."""

import pytest
import torch

from videogen3d.data.slider import FrameSlider, to_clip

OFFSETS = torch.tensor([0, 10, 13])


def valid(w: torch.Tensor, offsets: torch.Tensor, slider: FrameSlider) -> bool:
    """Every window lies inside one sequence and steps by frame_step."""
    seq_first = torch.searchsorted(offsets, w[:, 0].contiguous(), right=True) - 1
    seq_last = torch.searchsorted(offsets, w[:, -1].contiguous(), right=True) - 1
    steps = (w[:, 1:] - w[:, :-1] == slider.frame_step).all() if w.shape[1] > 1 else True
    return bool((seq_first == seq_last).all() and (w[:, -1] < offsets[-1]).all() and steps)


def test_exact_windows_small_case():
    s = FrameSlider(clip_len=3, stride=2, frame_step=2)
    assert s.windows(OFFSETS).tolist() == [[0, 2, 4], [2, 4, 6], [4, 6, 8]]  # the 3-frame sequence is too short
    assert s.num_windows(OFFSETS) == 3 and s.span == 5


def test_exact_windows_stride_one_and_empty_sequences():
    offsets = torch.tensor([0, 4, 4, 7, 11])
    w = FrameSlider(clip_len=3).windows(offsets)
    assert w[:, 0].tolist() == [0, 1, 4, 7, 8]
    assert valid(w, offsets, FrameSlider(3))


@pytest.mark.parametrize("clip_len,stride,step", [(1, 1, 1), (4, 3, 1), (3, 1, 3), (5, 7, 2)])
def test_no_window_crosses_a_boundary_and_all_starts_are_covered(clip_len, stride, step):
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(0, 30, (12,), generator=g)
    lengths[0] = 30
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    s = FrameSlider(clip_len, stride, step)
    w = s.windows(offsets)
    assert w.shape[1] == clip_len and valid(w, offsets, s)
    expected = sum(len(range(0, max(int(n) - s.span + 1, 0), stride)) for n in lengths)
    assert len(w) == expected
    r = s.random_windows(offsets, 500, generator=g)
    assert r.shape == (500, clip_len) and valid(r, offsets, s)


def test_random_windows_are_uniform_over_valid_starts_and_seeded():
    s = FrameSlider(3)
    offsets = torch.tensor([0, 5, 8])  # valid starts: 0, 1, 2 and 5
    r = s.random_windows(offsets, 4000, torch.Generator().manual_seed(1))
    counts = torch.bincount(r[:, 0], minlength=8)
    assert counts[[3, 4, 6, 7]].sum() == 0 and (counts[[0, 1, 2, 5]] > 850).all()
    again = s.random_windows(offsets, 4000, torch.Generator().manual_seed(1))
    assert torch.equal(r, again)


def test_gather_and_clip_layout():
    frames = torch.randint(0, 255, (13, 4, 5, 3), dtype=torch.uint8)
    s = FrameSlider(3, 2, 2)
    idx = s.windows(OFFSETS)
    clips = s.gather(frames, idx)
    assert clips.shape == (3, 3, 4, 5, 3) and torch.equal(clips[1, 2], frames[6])
    layout = s.clips(frames, idx)
    assert layout.shape == (3, 3, 3, 4, 5) and torch.equal(layout, to_clip(clips))
    assert torch.equal(layout[2, :, 1], frames[6].permute(2, 0, 1))
    # frames stored channel-major (FrameBank.subset(channels_first=True)): the same clips, contiguous
    planar = frames.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    assert not planar.is_contiguous() and torch.equal(planar, frames)
    fast = s.clips(planar, idx)
    assert fast.is_contiguous() and layout.is_contiguous() and torch.equal(fast, layout)


def test_no_fitting_window_names_the_numbers():
    with pytest.raises(ValueError, match=r"clip_len=9.*frame_step=2.*17 frames.*longest sequence has 10"):
        FrameSlider(9, frame_step=2).windows(OFFSETS)
    with pytest.raises(ValueError, match="clip_len"):
        FrameSlider(0)


def test_follows_the_device_of_its_inputs():
    s = FrameSlider(3, 2, 2)
    assert s.expand(torch.zeros(4, dtype=torch.long, device="meta")).device.type == "meta"
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        offsets = OFFSETS.to(dev)
        frames = torch.arange(13, device=dev).view(13, 1, 1, 1).expand(13, 2, 2, 3)
        w = s.windows(offsets)
        r = s.random_windows(offsets, 8, torch.Generator(device=dev).manual_seed(0))
        assert w.device == offsets.device and r.device == offsets.device
        assert s.gather(frames, w).device == frames.device
        assert w.cpu().tolist() == [[0, 2, 4], [2, 4, 6], [4, 6, 8]]
