"""C3D, tempCAE and the judge network: shapes and geometry refusals (seed 003 §3.2, §3.4)."""

import pytest
import torch

from videogen3d.models.blocks import frozen_copy
from videogen3d.models.c3d import C3D
from videogen3d.models.tempcae import TempCAE, clip_windows
from videogen3d.models.video_resnet import VideoResNetClassifier


@pytest.mark.parametrize("geo,T,pools", [((24, 32), 8, 3), ((48, 64), 16, 4)])
def test_c3d_shapes(geo, T, pools):
    net = C3D(11, T, geo, pools=pools, width=0.125, fc_dim=32)
    x = torch.randn(2, 3, T, *geo)
    assert net(x).shape == (2, 11)
    assert net.features(x).shape == (2, 32)


def test_c3d_channels_last_computes_the_same_function_and_gradient():
    torch.manual_seed(0)
    plain = C3D(11, 8, (24, 32), pools=3, width=0.125, fc_dim=32).eval()
    fast = C3D(11, 8, (24, 32), pools=3, width=0.125, fc_dim=32, channels_last=True).eval()
    fast.load_state_dict(plain.state_dict())  # a checkpoint of either loads into the other
    conv = fast.body[0][0].weight
    assert conv.dim() == 5 and conv.is_contiguous(memory_format=torch.channels_last_3d) and not conv.is_contiguous()
    x = (torch.rand(2, 3, 8, 24, 32) * 2 - 1).requires_grad_(True)
    a = plain(x)
    (ga,) = torch.autograd.grad(a[:, 3].sum(), x)
    b = fast(x)  # a contiguous input is converted inside
    (gb,) = torch.autograd.grad(b[:, 3].sum(), x)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(ga, gb, atol=1e-6, rtol=1e-4)
    assert ga.abs().sum() > 0
    assert set(plain.state_dict()) == set(fast.state_dict())
    with pytest.raises(ValueError, match="channels_last must be true or false, got 'yes'"):
        C3D(11, 8, (24, 32), pools=3, width=0.125, fc_dim=32, channels_last="yes")  # a string from the command line


@pytest.mark.parametrize("kind", ["c3d", "tempcae"])
def test_frozen_copy_folds_batch_norm_and_keeps_the_function_and_input_gradient(kind):
    torch.manual_seed(0)
    if kind == "c3d":
        net, x = C3D(11, 8, (24, 32), pools=3, width=0.125, fc_dim=32), torch.rand(2, 3, 8, 24, 32) * 2 - 1
    else:
        net, x = TempCAE(cs=4, frame_size=(24, 32), widths=[8, 8]), torch.rand(2, 3, 4, 24, 32) * 2 - 1
    for m in net.modules():  # running statistics that are not the identity, so that folding them matters
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0), m.weight.data.uniform_(0.5, 1.5)
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    frozen = frozen_copy(net)
    bns = lambda m: sum(isinstance(n, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)) for n in m.modules())
    assert bns(net) > 0 and bns(frozen) == 0  # every conv + batch norm pair folded into one conv
    assert not frozen.training and all(not p.requires_grad for p in frozen.parameters())
    convs = [m.weight for m in frozen.modules() if isinstance(m, torch.nn.Conv3d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last_3d) for w in convs) and (convs or kind == "tempcae")
    assert net.state_dict().keys() == before.keys() and all(torch.equal(net.state_dict()[k], v) for k, v in before.items())
    assert all(p.requires_grad for p in net.parameters())  # the original is not changed
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    a, b = net(xa), frozen(xb)
    (ga,) = torch.autograd.grad(a.flatten(1)[:, 3].sum(), xa)
    (gb,) = torch.autograd.grad(b.flatten(1)[:, 3].sum(), xb)
    assert torch.allclose(a, b, atol=1e-5) and ga.abs().max() > 0
    assert (ga - gb).abs().max() <= 1e-4 * ga.abs().max()  # the same input gradient, to float rounding


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


def test_blend_corruption_runs_from_the_clean_window_to_uniform_noise():
    from videogen3d.data.noise import corrupt

    torch.manual_seed(0)
    win = torch.ones(4000, 3, 2, 2, 2)  # white windows
    assert torch.equal(corrupt(win, "blend", 0.0), win)
    noisy = corrupt(win, "blend", 1.0)
    assert noisy.shape == win.shape and noisy.min() >= -1 and noisy.max() <= 1
    # a ~ U(0, 1) per window, u ~ U[-1, 1]: E[(1 - a) * 1 + a * u] = 0.5; per-window blend is shared by its pixels
    assert abs(float(noisy.mean()) - 0.5) < 0.02
    dist = (1 - noisy).mean(dim=(1, 2, 3, 4))  # ~ a: spread over [0, 1]
    assert float(dist.min()) < 0.05 and float(dist.max()) > 0.9
    g = corrupt(win, "gaussian", 0.5)
    assert g.max() <= 1 and float(g.mean()) < 0.9  # clamped noise pulls white windows down
    with pytest.raises(ValueError, match="corruption='salt'.*'gaussian', 'blend'"):
        corrupt(win, "salt", 0.5)


def test_denoising_tempcae_learns_to_map_noisy_windows_toward_white():
    """A few steps of blend-corrupted training on white clips: the output of pure noise moves toward white."""
    from functools import partial

    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    from videogen3d.tasks.autoencoder import TempCAEModule

    torch.manual_seed(0)
    clips = [{"target": torch.ones(3, 6, 8, 8)} for _ in range(32)]
    module = TempCAEModule(TempCAE(cs=3, frame_size=(8, 8), widths=[8, 8]), 3, 6, (8, 8),
                           optimizer=partial(torch.optim.Adam, lr=1e-2), noise_std=1.0, corruption="blend")
    noise = torch.rand(8, 3, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        before = float(module.eval().net(noise).mean())
    pl.Trainer(max_epochs=6, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, accelerator="cpu").fit(module, DataLoader(clips, batch_size=8))
    with torch.no_grad():
        after = float(module.eval().net(noise).mean())
    assert after > 0.8 > before
    with pytest.raises(ValueError, match="corruption='salt' is unknown"):
        TempCAEModule(TempCAE(cs=3, frame_size=(8, 8), widths=[8]), 3, 6, (8, 8), corruption="salt")


def test_tempcae_with_the_seeds_sigmoid_and_one_level():
    """Eqs. 4-5 read literally: one encoder layer with σ, one decoding layer (output σ = rescaled tanh)."""
    net = TempCAE(cs=3, frame_size=(8, 8), widths=[16], norm="none", act="sigmoid")
    assert any(isinstance(m, torch.nn.Sigmoid) for m in net.encoder.modules())
    y = net(torch.rand(2, 3, 3, 8, 8) * 2 - 1)
    assert y.shape == (2, 3, 3, 8, 8) and y.abs().max() < 1
