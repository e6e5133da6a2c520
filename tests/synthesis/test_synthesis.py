"""Pixel-space synthesis (seed 003 eqs. 8, 11), its files, and its refusals of bad input."""

import pytest
import pytorch_lightning as pl
import torch
from _synth_helpers import C3D_MODULE, CAE_MODULE, GEO, save_module

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.data.video_io import read_video
from videogen3d.models.tempcae import clip_windows
from videogen3d.synthesis.checkpoints import GeometryMismatchError, MissingCheckpointError, load_autoencoder, load_classifier
from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis.outputs import write_synthesis
from videogen3d.tasks.synthesis import PixelSynthesis


def _fit(module: PixelSynthesis) -> None:
    pl.Trainer(max_steps=module.iterations, max_epochs=1, logger=False, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False, accelerator="cpu").fit(module)


def test_a_few_iterations_lower_both_terms(tiny_classifier, tiny_tempcae):
    targets, _ = parse_targets(["car_right", "balloon_up"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, iterations=8,
                       eta_c3d=300.0, eta_tempcae=3000.0)
    with torch.no_grad():
        before = m.losses()
    _fit(m)
    with torch.no_grad():
        after = m.losses()
    assert (after["l_c3d"] < before["l_c3d"]).all()
    assert (after["l_tempcae"] < before["l_tempcae"]).all()
    assert m.video.abs().max() <= 1.0  # clamped to the networks' range
    assert not m.classifier.training and all(not p.requires_grad for p in m.classifier.parameters())
    assert all(p.requires_grad for p in tiny_classifier.parameters())  # a frozen copy: the caller's net is untouched


def test_comparison_lowers_target_error_and_norm(tiny_classifier):
    targets, _ = parse_targets(["ship_left"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", iterations=6,
                       optimizer="adam", lr=0.05)
    with torch.no_grad():
        before = m.losses()
    _fit(m)
    with torch.no_grad():
        after = m.losses()
    assert after["l_c3d"] < before["l_c3d"] and after["l_norm"] < before["l_norm"]
    assert m.settings()["eta_tempcae"] is None and m.settings()["eta_norm"] == 5.0


def test_eta_scale_multiplies_every_eta(tiny_classifier, tiny_tempcae):
    targets, _ = parse_targets(["car_left"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, eta_scale=4.0)
    s = m.settings()
    assert (s["eta_c3d"], s["eta_tempcae"], s["eta_scale"]) == (40.0, 40.0, 4.0)
    with pytest.raises(ValueError, match="eta_scale"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", eta_scale=0.0)


def test_eta_c3d_scale_sets_the_classifier_eta_apart(tiny_classifier, tiny_tempcae):
    targets, _ = parse_targets(["car_left"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, eta_scale=12.5,
                       eta_c3d_scale=0.5)
    s = m.settings()
    assert (s["eta_c3d"], s["eta_tempcae"], s["eta_c3d_scale"], s["prior_gradient"]) == (5.0, 125.0, 0.5, "full")
    with pytest.raises(ValueError, match="eta_c3d_scale must be positive, got -1"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, eta_c3d_scale=-1)
    with pytest.raises(ValueError, match="prior_gradient='stop'.*'full', 'residual'"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, prior_gradient="stop")


def test_residual_prior_gradient_is_the_pull_toward_the_decoded_video(tiny_classifier, tiny_tempcae):
    """residual: d/dX = 2 * sum over windows of (X - tempCAE(X)) / P; full adds the decoder's J^T term."""
    targets, _ = parse_targets(["car_left", "ship_right"], CLASS_NAMES)
    grads = {}
    for mode in ("full", "residual"):
        m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), tempcae=tiny_tempcae.net, prior_gradient=mode)
        terms = m.losses()
        grads[mode] = torch.autograd.grad(terms["l_tempcae"].sum(), m.video)[0]
        grads[mode + "_value"] = terms["l_tempcae"].detach()
    x = m.video.detach()
    win = clip_windows(x, tiny_tempcae.net.cs)
    with torch.no_grad():
        resid = 2 * (win - tiny_tempcae.net(win)) / x[0].numel()  # (B*n, C, CS, H, W), scattered back below
    b, n, cs = x.shape[0], x.shape[2] - tiny_tempcae.net.cs + 1, tiny_tempcae.net.cs
    expected = torch.zeros_like(x)
    resid = resid.view(b, n, *resid.shape[1:])
    for i in range(n):
        expected[:, :, i:i + cs] += resid[:, i]
    torch.testing.assert_close(grads["residual"], expected, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(grads["residual_value"], grads["full_value"])
    assert (grads["full"] - grads["residual"]).abs().max() > 1e-3 * grads["residual"].abs().max()


def test_multi_label_target_raises_both_probabilities(tiny_classifier):
    targets, _ = parse_targets(["car_right+rocket_up"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", iterations=10,
                       optimizer="adam", lr=0.05, eta_norm=0.0)
    with torch.no_grad():
        p0 = tiny_classifier.net(m.video).softmax(1)[0]
    _fit(m)
    with torch.no_grad():
        p1 = tiny_classifier.net(m.video).softmax(1)[0]
    for name in ("car_right", "rocket_up"):
        assert p1[CLASS_NAMES.index(name)] > p0[CLASS_NAMES.index(name)], name


def test_outputs_are_decodable(tmp_path):
    videos = torch.rand(2, 3, 8, 24, 32) * 2 - 1
    targets, names = parse_targets(["car_right", "car_right+rocket_up"], CLASS_NAMES)
    files = write_synthesis(tmp_path, videos, names, targets, {"method": "ours"}, CLASS_NAMES, fps=8)
    assert len(files["mp4"]) == len(files["gif"]) == 2 and (tmp_path / "grid.png").is_file()
    frames, _ = read_video(files["mp4"][1])
    assert frames.shape[0] == 8 and "car_right+rocket_up" in files["mp4"][1]
    from PIL import Image
    assert Image.open(files["grid"]).size == (8 * 32 + 7 * 2, 2 * 24 + 2)  # rows = targets, cols = frames


def test_missing_checkpoint_names_path_and_command(tmp_path):
    path = tmp_path / "checkpoints" / "classifier.ckpt"
    with pytest.raises(MissingCheckpointError, match=r"classifier\.ckpt.*python synth\.py stage=classifier scale=tiny"):
        load_classifier(path, GEO, overrides=["stage=synthesis", "scale=tiny"])
    with pytest.raises(MissingCheckpointError, match=r"autoencoder\.ckpt.*python synth\.py stage=autoencoder"):
        load_autoencoder(tmp_path / "checkpoints" / "autoencoder.ckpt", GEO)


def test_geometry_mismatch_is_refused_naming_both(tmp_path, tiny_classifier, tiny_tempcae):
    save_module(tiny_classifier, C3D_MODULE, tmp_path / "c.ckpt")
    save_module(tiny_tempcae, CAE_MODULE, tmp_path / "a.ckpt")
    assert load_classifier(tmp_path / "c.ckpt", GEO).geometry == GEO
    bigger = dict(GEO, frame_size=[48, 64], clip_len=16)
    with pytest.raises(GeometryMismatchError, match=r"8 frames of 32x24.*requested clips are 16 frames of 64x48"):
        load_classifier(tmp_path / "c.ckpt", bigger)
    with pytest.raises(GeometryMismatchError, match="11 classes.*5 classes"):
        load_classifier(tmp_path / "c.ckpt", dict(GEO, class_names=list(CLASS_NAMES[:5])))
    with pytest.raises(GeometryMismatchError, match="32x24.*64x48"):
        load_autoencoder(tmp_path / "a.ckpt", bigger)
    with pytest.raises(GeometryMismatchError, match="CS=3.*2 frames"):
        load_autoencoder(tmp_path / "a.ckpt", dict(GEO, clip_len=2))
