"""The temporal-shift 2D CNN (TSM, Lin et al. 2019): the shift moves the right channels by one frame, the network
reads clips of its geometry and refuses others by name, and its frozen copy keeps its function."""

import pytest
import torch

from videogen3d.models.blocks import frozen_copy
from videogen3d.models.tsm import TemporalShiftNet, temporal_shift


def test_temporal_shift_takes_an_eighth_of_the_channels_from_each_neighbouring_frame():
    b, t, c = 2, 4, 16
    x = torch.arange(b * t * c, dtype=torch.float32).view(b * t, c, 1, 1).expand(-1, -1, 2, 3).contiguous()
    y = temporal_shift(x, t).view(b, t, c, 2, 3)
    xv = x.view(b, t, c, 2, 3)
    assert torch.equal(y[:, 1:, :2], xv[:, :-1, :2]) and (y[:, 0, :2] == 0).all()    # from the previous frame
    assert torch.equal(y[:, :-1, 2:4], xv[:, 1:, 2:4]) and (y[:, -1, 2:4] == 0).all()  # from the next frame
    assert torch.equal(y[:, :, 4:], xv[:, :, 4:])                                     # the rest in place
    with pytest.raises(ValueError, match="7 frames are not whole clips of 4"):
        temporal_shift(torch.zeros(7, c, 1, 1), 4)


def test_the_network_reads_clips_and_sees_motion():
    torch.manual_seed(0)
    net = TemporalShiftNet(11, 8, (24, 32)).eval()
    x = torch.rand(3, 3, 8, 24, 32) * 2 - 1
    assert net(x).shape == (3, 11) and net.features(x).shape == (3, 64)
    # the same frames in reverse order give other logits: the shifts let it tell the direction of motion
    assert not torch.allclose(net(x), net(x.flip(2)), atol=1e-4)
    fast = frozen_copy(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert torch.allclose(fast(x), net(x), atol=1e-5)


def test_without_the_shift_it_reads_each_frame_on_its_own():
    torch.manual_seed(0)
    net = TemporalShiftNet(11, 8, (24, 32), shift=False).eval()
    x = torch.rand(3, 3, 8, 24, 32) * 2 - 1
    # no frame sees another: reversed or shuffled, the clip reads the same, and its logits are the frames' mean
    torch.testing.assert_close(net(x.flip(2)), net(x))
    torch.testing.assert_close(net(x[:, :, torch.randperm(8)]), net(x))
    frames = torch.stack([net(x[:, :, t:t + 1].expand(-1, -1, 8, -1, -1)) for t in range(8)]).mean(0)
    torch.testing.assert_close(net(x), frames)
    # the same weights with the shift on see the order
    shifted = TemporalShiftNet(11, 8, (24, 32)).eval()
    shifted.load_state_dict(net.state_dict())
    assert not torch.allclose(shifted(x), shifted(x.flip(2)), atol=1e-4)
    assert (shifted.kind, net.kind) == ("TemporalShiftNet", "TemporalShiftNet without shifts (each frame alone)")
    with pytest.raises(ValueError, match="TemporalShiftNet shift"):
        TemporalShiftNet(11, 8, (24, 32), shift="no")


@pytest.mark.parametrize("kw, match", [
    (dict(frame_size=(26, 32)), "H=26, W=32: both must be multiples of 4"),
    (dict(widths=(12, 32)), r"widths=\[12, 32\] must be three whole numbers >= 1"),
    (dict(dropout=1.5), "TemporalShiftNet dropout"),
])
def test_bad_settings_are_refused_by_name(kw, match):
    args = dict(num_classes=11, clip_len=8, frame_size=(24, 32)) | kw
    with pytest.raises(ValueError, match=match):
        TemporalShiftNet(**args)
    with pytest.raises(ValueError, match="built for clips of 8 frames, got 6"):
        TemporalShiftNet(11, 8, (24, 32))(torch.zeros(1, 3, 6, 24, 32))
