"""C3D, tempCAE and the judge network: shapes and geometry refusals (seed 003 §3.2, §3.4)."""

import pytest
import torch

from videogen3d.models.c3d import C3D
from videogen3d.models.tempcae import TempCAE, clip_windows
from videogen3d.models.video_resnet import VideoResNetClassifier


@pytest.mark.parametrize("geo,T,pools", [((24, 32), 8, 3), ((48, 64), 16, 4)])
def test_c3d_shapes(geo, T, pools):
    net = C3D(11, T, geo, pools=pools, width=0.125, fc_dim=32)
    x = torch.randn(2, 3, T, *geo)
    assert net(x).shape == (2, 11)
    assert net.features(x).shape == (2, 32)


def test_c3d_refuses_geometry_naming_it():
    with pytest.raises(ValueError, match=r"C3D\(pools=5\).*T=12.*clip_len=12"):
        C3D(11, 12, (96, 128), pools=5, width=0.125)
    with pytest.raises(ValueError, match="height=50"):
        C3D(11, 16, (50, 64), pools=4, width=0.125)


def test_tempcae_shapes_and_windows():
    cae = TempCAE(3, (24, 32), widths=(8, 16))
    window = torch.randn(4, 3, 3, 24, 32)
    assert cae(window).shape == window.shape
    video = torch.randn(2, 3, 8, 24, 32)
    assert clip_windows(video, 3).shape == (2 * 6, 3, 3, 24, 32)
    assert torch.equal(clip_windows(video, 3)[1], video[0, :, 1:4])  # window i = frames i..i+CS-1
    err = cae.window_error(video)
    assert err.shape == (2,) and (err > 0).all()
    # eq. 7 for synthesis: summed over the 6 windows, divided by the video's pixel count
    dec = cae.decoded_error(video)
    assert torch.allclose(dec, err * 6 * (3 * 3 * 24 * 32) / (3 * 8 * 24 * 32), rtol=1e-5)


def test_tempcae_refusals():
    with pytest.raises(ValueError, match=r"TempCAE\(3 levels\).*width=30"):
        TempCAE(4, (24, 30), widths=(8, 16, 16))
    with pytest.raises(ValueError, match="CS=9 does not fit clips of T=8"):
        clip_windows(torch.randn(1, 3, 8, 24, 32), 9)
    with pytest.raises(ValueError, match="expected"):
        TempCAE(3, (24, 32), widths=(8, 16))(torch.randn(1, 3, 4, 24, 32))


def test_judge_network_shapes():
    net = VideoResNetClassifier(11, 8, (24, 32), widths=(8, 16, 32))
    x = torch.randn(2, 3, 8, 24, 32)
    assert net(x).shape == (2, 11) and net.features(x).shape == (2, 32)
    with pytest.raises(ValueError, match="clip_len=6"):
        VideoResNetClassifier(11, 6, (24, 32), widths=(8, 16, 32))
