"""The sprite-and-path clip VAE: the ink centroids, the canvas moved along its path, the tracking term, a fit that
puts the path on the objects and lowers the error, synthesis through its code, and its config group."""

import pytest
import pytorch_lightning as pl
import torch
from _synth_helpers import VAE_MODULE, RenderedClips, build
from torch import nn
from torch.utils.data import DataLoader

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.losses.synthesis import parse_targets
from videogen3d.models.sprite_vae import PATH_RANGE, SpriteClipVAE, ink_centroids
from videogen3d.tasks.synthesis import PixelSynthesis

SPRITE_MODULE = {**VAE_MODULE, "net": {**VAE_MODULE["net"], "_target_": "videogen3d.models.sprite_vae.SpriteClipVAE",
                                       "out_conv": False}}


def test_ink_centroids_of_a_dark_pixel_and_of_a_blank_frame():
    x = torch.ones(2, 3, 3, 24, 32)
    x[0, :, 0, 5, 20] = -1  # one black pixel: row 5, column 20
    x[0, :, 1, 10:12, 2:4] = 0  # a grey 2x2 block: rows 10-11, columns 2-3
    c = ink_centroids(x)
    assert c.shape == (2, 3, 2)
    assert torch.allclose(c[0, 0], torch.tensor([(20.5 / 32) * 2 - 1, (5.5 / 24) * 2 - 1]))
    assert torch.allclose(c[0, 1], torch.tensor([(3.0 / 32) * 2 - 1, (11.0 / 24) * 2 - 1]))
    assert torch.equal(c[0, 2], torch.zeros(2)) and torch.equal(c[1], torch.zeros(3, 2))  # blank: the centre
    with pytest.raises(ValueError, match=r"got shape \(3, 3, 24, 32\)"):
        ink_centroids(x[0])


def test_render_moves_the_one_canvas_along_the_path_over_white():
    net = SpriteClipVAE(4, (24, 32), latent_dim=4, widths=[8, 16, 16], out_conv=False)
    canvas = torch.zeros(1, 4, 24, 32)
    canvas[0, :3, 12, 16] = -1.0  # a black pixel...
    canvas[0, 3, 12, 16] = 1.0  # ...opaque; every other pixel transparent
    shifts = [(0, 0), (3, 0), (-5, 2), (7, -4)]  # (columns, rows) per frame
    path = torch.tensor([[[2 * dx / 32, 2 * dy / 24] for dx, dy in shifts]])
    out = net.render(canvas, path)
    assert out.shape == (1, 3, 4, 24, 32)
    for t, (dx, dy) in enumerate(shifts):
        frame = out[0, :, t]
        assert torch.allclose(frame[:, 12 + dy, 16 + dx], torch.full((3,), -1.0), atol=1e-5)
        rest = frame.clone()
        rest[:, 12 + dy, 16 + dx] = 1.0
        assert torch.allclose(rest, torch.ones_like(rest), atol=1e-5)  # white everywhere else
    # half-transparent grey over white, and a path past the frame leaves it white
    canvas[0, 3, 12, 16] = 0.5
    canvas[0, :3, 12, 16] = 0.0
    out = net.render(canvas, torch.tensor([[[0.0, 0.0], [1.5, 1.5], [0.0, 0.0], [0.0, 0.0]]]))
    assert torch.allclose(out[0, :, 0, 12, 16], torch.full((3,), 0.5), atol=1e-5)
    assert torch.allclose(out[0, :, 1], torch.ones(3, 24, 32), atol=1e-5)


def test_render_equals_a_per_frame_affine_warp_at_fractional_positions():
    """One grid_sample per clip over T*H rows gives what a per-frame translation by affine_grid gives."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    net = SpriteClipVAE(5, (24, 32), latent_dim=4, widths=[8, 16, 16], out_conv=False)
    canvas = torch.cat([torch.rand(3, 3, 24, 32) * 2 - 1, torch.rand(3, 1, 24, 32)], 1)
    path = torch.rand(3, 5, 2) * 3 - 1.5
    theta = torch.zeros(15, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = -path.reshape(15, 2)
    src = canvas.repeat_interleave(5, 0)
    frames = F.grid_sample(src, F.affine_grid(theta, [15, 4, 24, 32], align_corners=False), align_corners=False)
    rgb, alpha = frames[:, :3], frames[:, 3:]
    expected = (alpha * rgb + 1 - alpha).view(3, 5, 3, 24, 32).transpose(1, 2)
    assert torch.allclose(net.render(canvas, path), expected, atol=1e-5)


def test_sprite_vae_shapes_parts_and_refusals():
    torch.manual_seed(0)
    net = SpriteClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16], out_conv=False)
    assert isinstance(net.decoder[-1], nn.ConvTranspose2d) and net.decoder[-1].out_channels == 4  # one RGBA canvas
    assert isinstance(SpriteClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16]).decoder[-1], nn.Conv2d)  # out_conv
    code = torch.randn(3, 5) * 10
    canvas, path = net.decode_parts(code)
    assert canvas.shape == (3, 4, 24, 32) and path.shape == (3, 8, 2)
    assert canvas[:, :3].abs().max() <= 1 and 0 <= canvas[:, 3].min() and canvas[:, 3].max() <= 1
    assert path.abs().max() <= PATH_RANGE
    y = net.decode(code)
    assert y.shape == (3, 3, 8, 24, 32) and y.min() >= -1 - 1e-6 and y.max() <= 1 + 1e-6
    assert torch.equal(y, net.render(canvas, path))
    # the code moves the clip through the path head as well as through the canvas
    g = torch.autograd.grad(net.decode(code).sum(), net.path[-1].weight)[0]
    assert g.abs().sum() > 0
    for bad in (-1.0, "1", True):
        with pytest.raises(ValueError, match=f"track_weight must be a number >= 0, got {bad!r}"):
            SpriteClipVAE(8, (24, 32), widths=[8, 16], track_weight=bad)
    with pytest.raises(ValueError, match="out_conv must be true or false, got 'maybe'"):
        SpriteClipVAE(8, (24, 32), widths=[8, 16], out_conv="maybe")


def test_forward_sets_the_tracking_term_scaled_by_its_weight():
    torch.manual_seed(0)
    x = RenderedClips(4).x
    nets = [SpriteClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16], track_weight=w) for w in (1.0, 3.0, 0.0)]
    for n in nets[1:]:
        n.load_state_dict(nets[0].state_dict())
    terms = []
    for n in nets:
        torch.manual_seed(1)
        recon, mean, logvar = n(x)
        terms.append(n.aux_loss)
    # the path of the same sampled code, held to the input's ink centroids
    torch.manual_seed(1)
    code = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    expected = (nets[0].decode_parts(code)[1] - ink_centroids(x)).pow(2).mean()
    assert torch.allclose(terms[0], expected) and terms[0] > 0
    assert torch.allclose(terms[1], 3 * terms[0]) and terms[2] == 0


def test_a_fit_puts_the_path_on_the_objects_and_lowers_the_error():
    torch.manual_seed(0)
    module = build(SPRITE_MODULE, beta=0.002)
    data = RenderedClips()
    x = data.x
    target = ink_centroids(x)
    with torch.no_grad():
        mean = module.net.encode(x)[0]
        err0 = (module.net.decode(mean) - x).pow(2).mean().item()
        track0 = (module.net.decode_parts(mean)[1] - target).pow(2).mean().item()
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", max_epochs=60)
    trainer.fit(module, DataLoader(data, batch_size=8, shuffle=True))
    assert "train/aux" in trainer.callback_metrics  # the task added the network's tracking term
    assert module.net.aux_loss is None  # and let go of its graph
    module.eval()
    with torch.no_grad():
        mean = module.net.encode(x)[0]
        err1 = (module.net.decode(mean) - x).pow(2).mean().item()
        track1 = (module.net.decode_parts(mean)[1] - target).pow(2).mean().item()
    assert err1 < 0.5 * err0
    assert track1 < 0.05 * track0  # the canvas moves where the object is
    # the clip VAE's code distribution is kept, as for ClipVAE: decode_whitened(0) decodes the mean code
    assert torch.allclose(module.decode_whitened(torch.zeros(1, 6)), module.net.decode(module.code_mean[None]))


def test_synthesis_through_a_sprite_vae(tiny_classifier):
    torch.manual_seed(0)
    vae = build(SPRITE_MODULE).eval()
    targets, _ = parse_targets(["car_right", "rocket_up"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", eta_norm=0.0,
                       generator=vae, eta_code=0.0, optimizer="adam", lr=0.1, iterations=15, seed=0)
    v0 = m.synthesized()
    assert torch.allclose(v0, vae.decode_whitened(m.code.detach()[:, 0]), atol=1e-6)
    l0 = m.eval().losses()["l_c3d"].detach()
    pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
               accelerator="cpu", max_steps=15, max_epochs=1).fit(m)
    assert (m.eval().losses()["l_c3d"].detach() < l0).all()
    assert not torch.equal(m.synthesized(), v0)


def test_the_sprite_vae_config_group_builds_it():
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    import videogen3d.synthesis.stages  # noqa: F401  (registers the synth_conf resolver)

    with initialize_config_dir(str(Path(__file__).resolve().parents[2] / "conf"), version_base="1.3"):
        cfg = compose("synth", overrides=["scale=cpu", "vae=sprite_vae"])
    net = instantiate(cfg.vae.module.net, clip_len=16, frame_size=[24, 32])
    assert isinstance(net, SpriteClipVAE) and net.track_weight == 1.0
    assert net.out_conv is False and cfg.vae.epochs == 40  # the scale's settings still apply
