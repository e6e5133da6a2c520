"""The clip VAE and synthesis through its code (ours, DGN-AM style): shapes, training, the code prior,
the refusals, and the method flags that switch the latent parametrisation and its prior off."""

import re

import pytest
import pytorch_lightning as pl
import torch
from _synth_helpers import VAE_MODULE, RenderedClips, build
from torch import nn
from torch.utils.data import DataLoader

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.losses.synthesis import parse_targets
from videogen3d.models.clip_vae import ClipVAE
from videogen3d.synthesis.methods import resolve_method, synthesis_kwargs
from videogen3d.tasks.synthesis import PixelSynthesis
from videogen3d.tasks.vae import ClipVAEModule, reconstruction_weights


def _trainer(**kw) -> pl.Trainer:
    return pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", **kw)


def test_clip_vae_shapes_range_and_bad_clip():
    torch.manual_seed(0)
    net = ClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16])
    x = torch.rand(3, 3, 8, 24, 32) * 2 - 1
    mean, logvar = net.encode(x)
    assert mean.shape == logvar.shape == (3, 5)
    y = net.decode(mean)
    assert y.shape == x.shape and y.abs().max() <= 1
    recon, m2, _ = net(x)
    assert recon.shape == x.shape and torch.equal(m2, mean)
    with pytest.raises(ValueError, match=r"got a clip of shape \(3, 3, 4, 24, 32\)"):
        net.encode(x[:, :, :4])
    with pytest.raises(ValueError, match="frame"):
        ClipVAE(8, (20, 32), widths=[8, 16, 16])  # 20 is not divisible by 2**3


def test_clip_vae_without_out_conv_decodes_straight_to_the_clip_channels():
    torch.manual_seed(0)
    net = ClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16], out_conv=False)
    last = net.decoder[-1]
    assert isinstance(last, nn.ConvTranspose2d) and last.out_channels == 3 * 8  # C*T, at full resolution
    assert not any(isinstance(m, nn.Conv2d) for m in net.decoder)
    y = net.decode(torch.randn(2, 5))
    assert y.shape == (2, 3, 8, 24, 32) and y.abs().max() <= 1
    # out_conv=True (the default) keeps the layer names of checkpoints saved before the option existed
    keys = [k for k in ClipVAE(8, (24, 32), latent_dim=5, widths=[8, 16]).state_dict() if k.startswith("decoder")]
    assert keys == [f"decoder.{i}.{p}" for i in (1, 2, 4, 6) for p in ("weight", "bias")]
    with pytest.raises(ValueError, match="out_conv must be true or false, got 'maybe'"):
        ClipVAE(8, (24, 32), widths=[8, 16], out_conv="maybe")  # not read as True


@pytest.mark.parametrize("out_conv", [True, False])
def test_vae_training_lowers_the_loss_and_keeps_the_code_distribution(out_conv):
    torch.manual_seed(0)
    module = build({**VAE_MODULE, "net": {**VAE_MODULE["net"], "out_conv": out_conv}}, beta=0.002)
    data = RenderedClips()
    x = data.x
    with torch.no_grad():
        before = (module.net.decode(module.net.encode(x)[0]) - x).pow(2).mean().item()
    _trainer(max_epochs=25).fit(module, DataLoader(data, batch_size=8, shuffle=True))
    module.eval()
    with torch.no_grad():
        codes = module.net.encode(x)[0]
        after = (module.net.decode(codes) - x).pow(2).mean().item()
        assert after < 0.5 * before
        # code_mean / code_chol: the last epoch's posterior means (the net changed a little during it)
        assert not torch.equal(module.code_chol, torch.eye(6))
        assert torch.allclose(module.code_mean, codes.mean(0), atol=0.3 * codes.std(0).mean().item())
        # whitened: decode_whitened(0) is the decoded mean code; the training codes whiten to ~unit spread
        assert torch.allclose(module.decode_whitened(torch.zeros(1, 6)), module.net.decode(module.code_mean[None]))
        u = torch.linalg.solve_triangular(module.code_chol, (codes - module.code_mean).T, upper=False).T
        assert 0.5 < u.pow(2).mean().item() < 2.0


def test_reconstruction_weights_count_the_non_white_pixels_k_plus_one_times():
    x = torch.ones(2, 3, 4, 6, 8)  # white
    x[0, 1, :, 2:4, 3:5] = -0.5  # one channel of a 2x2 sprite in every frame of the first clip
    x[1, :, 0, 0, 0] = 0.95  # almost white: background (every channel >= 0.9)
    w = reconstruction_weights(x, 10.0)
    assert w.shape == (2, 1, 4, 6, 8) and torch.isclose(w.mean(), torch.tensor(1.0))
    fg = torch.zeros(2, 1, 4, 6, 8, dtype=torch.bool)
    fg[0, 0, :, 2:4, 3:5] = True
    assert torch.allclose(w[fg], w[~fg][0] * 11) and torch.all(w[~fg] == w[~fg][0])
    assert torch.equal(reconstruction_weights(x, 0.0), torch.ones(2, 1, 4, 6, 8))


def test_foreground_weight_trains_a_sharper_sprite_and_is_refused_when_bad():
    """The same tiny VAE, seed and steps: with foreground_weight 10 the held-in clips' sprite pixels are
    reconstructed closer than without, and the background pays for it a little."""
    data = RenderedClips()
    x = data.x
    fg = (x < 0.9).any(1, keepdim=True).expand_as(x)
    errs = {}
    for k in (0.0, 10.0):
        torch.manual_seed(0)
        module = build(VAE_MODULE, beta=0.002, foreground_weight=k)
        _trainer(max_epochs=25).fit(module, DataLoader(data, batch_size=8, shuffle=False))
        with torch.no_grad():
            e = (module.eval().net.decode(module.net.encode(x)[0]) - x).pow(2)
        errs[k] = (e[fg].mean().item(), e[~fg].mean().item())
    assert errs[10.0][0] < 0.8 * errs[0.0][0], errs
    net = ClipVAE(8, (24, 32), latent_dim=6, widths=[8, 16, 16])
    for bad in (-1.0, "maybe", True, float("nan")):
        with pytest.raises(ValueError, match=re.escape(f"vae: foreground_weight must be a number >= 0, got {bad!r}")):
            ClipVAEModule(net, 8, (24, 32), foreground_weight=bad)


def test_synthesis_through_the_code(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right", "rocket_up"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", eta_norm=0.0,
                       generator=tiny_vae, eta_code=0.0, optimizer="adam", lr=0.1, iterations=15, seed=0)
    assert not hasattr(m, "video") and m.parameter is m.code and m.code.shape == (2, 1, 6)
    assert {n for n, p in m.named_parameters() if p.requires_grad} == {"code"}
    v0 = m.synthesized()
    assert torch.allclose(v0, tiny_vae.decode_whitened(m.code.detach()[:, 0]), atol=1e-6)  # the decoded code
    l0 = m.eval().losses()["l_c3d"].detach()
    _trainer(max_steps=15, max_epochs=1).fit(m)
    assert m.generator.training is False and all(not p.requires_grad for p in m.generator.parameters())
    assert all(p.requires_grad for p in tiny_vae.parameters())  # a frozen copy: the caller's VAE is untouched
    l1 = m.eval().losses()["l_c3d"].detach()
    assert (l1 < l0).all()  # the classifier's target error falls through the decoder
    assert not torch.equal(m.synthesized(), v0) and m.synthesized().abs().max() <= 1
    assert m.settings()["generator"] == "ClipVAEModule" and m.settings()["eta_code"] == 0.0


def test_code_prior_pulls_toward_the_mean_and_switches_off(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["balloon_up"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, eta_c3d=0.0, generator=tiny_vae, optimizer="gd", iterations=5,
              seed=2)
    on = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), eta_code=0.1, **kw)
    off = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), eta_code=0.0, **kw)
    start = on.code.detach().clone()
    assert torch.equal(start, off.code.detach())
    _trainer(max_steps=5, max_epochs=1).fit(on)
    _trainer(max_steps=5, max_epochs=1).fit(off)
    assert torch.allclose(on.code.detach(), start * 0.9 ** 5, atol=1e-5)  # GD on 0.1 |u|^2/2: u <- 0.9 u
    assert torch.equal(off.code.detach(), start)  # no classifier, no prior: nothing moves


def test_code_sphere_keeps_every_code_on_the_typical_shell_and_switches_off(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right", "rocket_up+balloon_up"], CLASS_NAMES)
    # a strong code prior pulls the codes toward the mean (|u| -> 0); the sphere puts them back at sqrt(d)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, eta_code=1.0, optimizer="adam", lr=0.2,
              iterations=10, seed=3, layers=True, code_init=0.3)
    on = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), code_sphere=True, **kw)
    off = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw)
    d = tiny_vae.latent_dim
    assert on.code.shape == (2, 2, d)
    assert torch.allclose(on.code.detach().norm(dim=-1), torch.full((2, 2), d ** 0.5))  # the start is projected
    assert torch.allclose(on.code.detach(), off.code.detach() * d ** 0.5 / off.code.detach().norm(dim=-1, keepdim=True))
    _trainer(max_steps=10, max_epochs=1).fit(on)
    _trainer(max_steps=10, max_epochs=1).fit(off)
    assert torch.allclose(on.code.detach().norm(dim=-1), torch.full((2, 2), d ** 0.5), atol=1e-5)
    assert (off.code.detach().norm(dim=-1) < 0.5 * d ** 0.5).all()  # free codes shrink under the prior
    assert on.settings()["code_sphere"] is True and off.settings()["code_sphere"] is None
    with pytest.raises(ValueError, match="synthesis code_sphere must be true or false, got 'yes'"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), code_sphere="yes", **kw)
    with pytest.raises(ValueError, match="code_sphere=true .* needs a generator"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", code_sphere=True)


def test_generator_refusals(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_left"], CLASS_NAMES)
    kw = dict(method="comparison", generator=tiny_vae)
    with pytest.raises(ValueError, match="coarse_factor and optimizer='normgd'"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), coarse_factor=2, **kw)
    with pytest.raises(ValueError, match="eta_code=-1"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), eta_code=-1, **kw)
    with pytest.raises(ValueError, match="decode_whitened"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", generator=torch.nn.Linear(2, 2))


def test_latent_method_flags():
    defs = {"best": {"classifiers": ["classifier_robust", "classifier"], "latent": "vae", "prior": "norm",
                     "eta_norm": 0.0, "eta_code": 0.01, "optimizer": "adam"},
            "no_latent": {"base": "best", "ablate": ["latent"]},
            "no_code_prior": {"base": "best", "ablate": ["code_prior"]},
            "no_ensemble": {"base": "best", "ablate": ["ensemble"]},
            "no_layers": {"base": "best", "ablate": ["layers"]},
            "sphere": {"base": "best", "code_sphere": True},
            "no_sphere": {"base": "sphere", "ablate": ["code_sphere"]},
            "bad": {"latent": "gan"}}
    best = resolve_method(defs, "best")
    assert best["latent"] == "vae" and synthesis_kwargs({}, best)["eta_code"] == 0.01
    assert resolve_method(defs, "no_latent")["latent"] is None
    assert resolve_method(defs, "no_code_prior")["eta_code"] == 0.0
    assert resolve_method(defs, "no_code_prior")["latent"] == "vae"
    assert resolve_method(defs, "no_ensemble")["classifiers"] == ["classifier_robust"]
    assert resolve_method(defs, "no_layers")["layers"] is False
    assert synthesis_kwargs({"code_sphere": False}, resolve_method(defs, "sphere"))["code_sphere"] is True
    assert synthesis_kwargs({"code_sphere": False}, resolve_method(defs, "no_sphere"))["code_sphere"] is False
    with pytest.raises(ValueError, match=r"method_defs.bad.latent='gan'"):
        resolve_method(defs, "bad")


def test_layers_give_a_multi_label_target_one_object_per_label(tiny_classifier, tiny_vae, monkeypatch):
    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=10,
              seed=0)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), layers=True, **kw)
    assert m.code.shape == (2, 2, 6) and m.layer_mask.tolist() == [[1.0, 1.0], [1.0, 0.0]]
    car, rocket, ship = (CLASS_NAMES.index(c) for c in ("car_right", "rocket_up", "ship_left"))
    assert m.layer_targets[0].argmax(1).tolist() in ([car, rocket], [rocket, car])
    assert m.layer_targets[1, 0].argmax().item() == ship
    with torch.no_grad():
        layers = [(tiny_vae.decode_whitened(m.code[i, l][None]) + 1) / 2 for i, l in ((0, 0), (0, 1), (1, 0))]
        v = m.synthesized()
    # the multi-label video is the product of its two layers (white is transparent); the single-label
    # video is its one layer (its unused second code does not show)
    assert torch.allclose(v[0], (layers[0] * layers[1] * 2 - 1)[0], atol=1e-5)
    assert torch.allclose(v[1], (layers[2] * 2 - 1)[0], atol=1e-5)
    m.eval()
    terms = m.losses()
    whole = m.losses(video=m.synthesized())  # the video alone, without the per-layer terms
    assert torch.isclose(terms["l_c3d"][1], whole["l_c3d"][1], atol=1e-5)  # single-label: unchanged
    assert not torch.isclose(terms["l_c3d"][0], whole["l_c3d"][0], atol=1e-5)  # multi-label: layer terms added
    # the unused layer's code has no gradient at all; the used ones do
    m.code.grad = None
    m.objective(m.losses()).backward()
    assert m.code.grad[1, 1].abs().max() == 0 and m.code.grad[0].abs().min(1).values.gt(0).all()
    # only the 3 layers in use are decoded; the unused one is white
    sizes = []
    decode = m.generator.decode_whitened  # the module's frozen copy of the VAE
    monkeypatch.setattr(m.generator, "decode_whitened", lambda u: sizes.append(len(u)) or decode(u))
    with torch.no_grad():
        lay = m._layers()
    monkeypatch.undo()
    assert sizes == [3] and lay.shape == (2, 2, 3, 8, 24, 32) and torch.equal(lay[1, 1], torch.ones_like(lay[1, 1]))
    one = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), layers=False, **kw)
    assert one.code.shape == (2, 1, 6) and one.settings()["layers"] is None and m.settings()["layers"] == 2


def test_vae_trains_on_its_own_clips_per_class_and_retrains_when_it_changes(tmp_path, caplog):
    import logging
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    from videogen3d.synthesis.checkpoints import changed_settings, safe_load
    from videogen3d.synthesis.stages import _Run, run

    conf = str(Path(__file__).resolve().parents[2] / "conf")

    def cfg(*extra):
        with initialize_config_dir(config_dir=conf, version_base="1.3"):
            return compose("synth", overrides=[f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out",
                                               f"work_dir={tmp_path}/work",
                                               "scale=tiny", "+trainer.enable_progress_bar=false",
                                               "+trainer.enable_model_summary=false", "stage=autoencoder",
                                               "synthesis.methods=[best_no_vae_domain]", *extra])

    with caplog.at_level(logging.INFO, logger="videogen3d.data.datamodule"):
        run(cfg("vae.clips_per_class=2"))
    assert "22 sequences" in caplog.text  # 11 classes x 2 clips, not the dataset's 6 per class
    path = tmp_path / "work" / "checkpoints" / "vae.ckpt"
    assert safe_load(path, "vae")["data_config"] == {"clips_per_class": 2}
    task = _Run(cfg("vae.clips_per_class=3"), overrides=[]).task("vae")
    assert changed_settings(path, task.module, int(task.epochs), {"clips_per_class": 3}) == ["clips_per_class: 2 -> 3"]
    assert changed_settings(path, task.module, int(task.epochs), {"clips_per_class": 2}) == []


def test_candidates_keep_each_videos_best_draw_and_switch_off(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right", "rocket_up+ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=8, seed=0,
              layers=True, jitter={"shift": 1.0})
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), candidates=3, select_at=0.5, **kw)
    assert m.code.shape == (6, 2, 6) and m.targets.shape == (6, 11)  # 3 draws per video, side by side
    assert torch.equal(m.targets[:3], targets[:1].expand(3, -1)) and torch.equal(m.targets[3:], targets[1:].expand(3, -1))
    scores = m.candidate_scores()
    assert scores.shape == (6,) and torch.equal(scores, m.candidate_scores())  # fixed views: repeatable
    draws = m.code.detach().clone()
    keep = m.select_candidates()
    # each video keeps the draw its own classifier scores highest, with its buffers
    assert keep.tolist() == [int(scores[:3].argmax()), 3 + int(scores[3:].argmax())]
    assert torch.equal(m.code.detach(), draws[keep]) and torch.equal(m.targets, targets)
    assert m.layer_mask.tolist() == [[1.0, 0.0], [1.0, 1.0]] and m.multi.tolist() == [False, True]
    assert m.select_candidates() is None and m.synthesized().shape == (2, 3, 8, 24, 32)
    # in training: selected at select_at, then optimised on alone (Adam's moments of the dropped draws reset)
    fit = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), candidates=3, select_at=0.5, **kw)
    _trainer(max_steps=8, max_epochs=1).fit(fit)
    assert fit.code.shape == (2, 2, 6) and fit.synthesized().shape == (2, 3, 8, 24, 32)
    assert fit.settings()["candidates"] == 3 and fit.settings()["select_at"] == 0.5
    one = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw)
    assert one.code.shape == (2, 2, 6) and one.select_candidates() is None and one.settings()["candidates"] is None
    with pytest.raises(ValueError, match="candidates=0"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), candidates=0, **kw)
    defs = {"best": {"latent": "vae", "prior": "norm", "candidates": 4},
            "best_no_candidates": {"base": "best", "ablate": ["candidates"]}}
    assert synthesis_kwargs({}, resolve_method(defs, "best"))["candidates"] == 4
    assert resolve_method(defs, "best_no_candidates")["candidates"] == 1


class _FixedGuide(nn.Module):
    """A stand-in guide that gives the i-th clip of a batch probability ``p[i]`` on each of ``classes``, the rest
    spread evenly; ``p`` may be a dict by batch size (the composites and the layers, batches of different sizes,
    then read differently)."""

    def __init__(self, p: list[float] | dict[int, list[float]], classes: tuple[str, ...] = ("car_right",)) -> None:
        super().__init__()
        self.p = {n: torch.tensor(v) for n, v in p.items()} if isinstance(p, dict) else torch.tensor(p)
        self.cols = [CLASS_NAMES.index(c) for c in classes]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(CLASS_NAMES)
        p = self.p[len(x)] if isinstance(self.p, dict) else self.p[: len(x)]
        probs = ((1 - len(self.cols) * p) / (n - len(self.cols))).unsqueeze(1).expand(-1, n).clone()
        probs[:, self.cols] = p.unsqueeze(1)
        return probs.log()


def test_candidates_scored_by_the_weakest_guide_keep_a_draw_every_guide_reads(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=4, seed=0,
              candidates=2)
    # draw 0 fools one guide (0.99) and not the other (0.30); every guide reads draw 1 at about half (0.55, 0.50)
    guides = nn.ModuleList([_FixedGuide([0.99, 0.55]), _FixedGuide([0.30, 0.50])])
    mean = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw)
    weakest = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), select_by="weakest", **kw)
    for m in (mean, weakest):
        m.classifiers = guides
    torch.testing.assert_close(mean.candidate_scores(), torch.tensor([0.645, 0.525]))
    torch.testing.assert_close(weakest.candidate_scores(), torch.tensor([0.30, 0.50]))
    assert mean.select_candidates().tolist() == [0] and weakest.select_candidates().tolist() == [1]
    assert weakest.settings()["select_by"] == "weakest" and mean.settings()["select_by"] is None
    with pytest.raises(ValueError, match="select_by='best'"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), select_by="best", **kw)


def test_candidates_select_layers_each_keeps_each_layers_own_best_draw(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right", "rocket_up", "car_right+rocket_up"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=4, seed=0,
              layers=True, candidates=3, composite_weight=0.0)
    # 9 composites (3 draws per video): the single-label videos keep draw 0 and draw 2 either way; the two-object
    # video's 6 layers, draw by draw: (0.45, 0.05), (0.2, 0.3), (0.25, 0.4): its weaker layer is best in draw 2,
    # its first layer alone in draw 0
    guide = _FixedGuide({9: [0.45, 0.2, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3], 6: [0.45, 0.05, 0.2, 0.3, 0.25, 0.4]},
                        ("car_right", "rocket_up"))
    joint = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw)
    each = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), select_layers="each", **kw)
    draws = joint.code.detach().clone()
    assert torch.equal(draws, each.code.detach())  # the same starts: only the choice differs
    for m in (joint, each):
        m.classifiers = nn.ModuleList([guide])
    assert joint.select_candidates().tolist() == [0, 5, 8]  # one draw for both layers, by the weaker layer
    assert torch.equal(joint.code.detach(), draws[[0, 5, 8]])
    assert each.select_candidates().tolist() == [0, 5, 6]  # a two-object video: its first draw (its targets)
    assert torch.equal(each.code.detach()[:2], draws[[0, 5]])  # single-label videos as before
    assert torch.equal(each.code.detach()[2, 0], draws[6, 0]) and torch.equal(each.code.detach()[2, 1], draws[8, 1])
    assert torch.equal(each.targets, targets) and each.multi.tolist() == [False, False, True]
    assert each.synthesized().shape == (3, 3, 8, 24, 32)
    assert each.settings()["select_layers"] == "each" and joint.settings()["select_layers"] is None
    fit = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), select_layers="each", select_at=0.5, **kw)
    _trainer(max_steps=4, max_epochs=1).fit(fit)  # selected in training, then optimised on alone
    assert fit.code.shape == (3, 2, 6) and torch.isfinite(fit.synthesized()).all()
    with pytest.raises(ValueError, match="select_layers='both'"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), select_layers="both", **kw)


class _HalvesReader(nn.Module):
    """A stand-in classifier: ink in a clip's left half reads as car_right, in its right half as rocket_up."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ink = (1 - x.mean(1)).clamp_min(0)  # (B, T, H, W)
        w = x.shape[-1] // 2
        logits = torch.zeros(len(x), len(CLASS_NAMES))
        logits[:, CLASS_NAMES.index("car_right")] = 8.0 * (ink[..., :w].sum((1, 2, 3)) > 1).float()
        logits[:, CLASS_NAMES.index("rocket_up")] = 8.0 * (ink[..., w:].sum((1, 2, 3)) > 1).float()
        return logits


def test_candidates_of_a_multi_label_video_are_scored_by_their_weakest_layer(tiny_classifier, tiny_vae, monkeypatch):
    targets, _ = parse_targets(["car_right+rocket_up"], CLASS_NAMES)
    m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", eta_norm=0.0,
                       generator=tiny_vae, optimizer="adam", lr=0.1, iterations=4, seed=0, layers=True, candidates=2,
                       composite_weight=0.0)
    m.classifiers = nn.ModuleList([_HalvesReader()])
    car_layer = 0 if m.layer_targets[0, 0].argmax().item() == CLASS_NAMES.index("car_right") else 1
    layers = torch.ones(2, 2, 3, 8, 24, 32)  # (draws, layers, C, T, H, W) in [0, 1], white
    # draw 0: the car's layer has ink in both halves, the rocket's layer is blank; its composite reads as both labels
    layers[0, car_layer, :, :, 8:12, 4:10] = 0
    layers[0, car_layer, :, :, 8:12, 22:28] = 0
    # draw 1: each layer has its own object (car left, rocket right): a composite that reads the same
    layers[1, car_layer, :, :, 8:12, 4:10] = 0
    layers[1, 1 - car_layer, :, :, 8:12, 22:28] = 0
    monkeypatch.setattr(m, "_layers", lambda: layers)
    mask = m.targets > 0
    composite = [(_HalvesReader()(m.current_video()[i:i + 1]).softmax(1)[0] * mask[i]).sum().item() for i in (0, 1)]
    assert composite[0] == pytest.approx(composite[1])  # the composite cannot tell the draws apart
    scores = m.candidate_scores()
    assert scores[0] < 0.2 < 0.9 < scores[1]  # draw 0's blank layer reads as no rocket
    m.composite_weight = 1.0  # all the weight on the composite: the composite's score alone
    assert torch.allclose(m.candidate_scores(), torch.tensor(composite))
    m.composite_weight = 0.0
    assert m.select_candidates().tolist() == [1]


def _recorded_batch(net: nn.Module, n: int):
    """A batch of ``n`` random clips labelled 0..n-1, and a list that collects every input ``net`` sees (with the
    hook to remove)."""
    seen: list[torch.Tensor] = []
    hook = net.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.rand(n, 3, 8, 24, 32) * 2 - 1
    return x, {"target": x, "label": torch.arange(n)}, seen, hook


def test_vae_domain_classifier_trains_on_the_generators_renderings(tiny_classifier):
    from videogen3d.tasks.classifier import VideoClassifier
    net = tiny_classifier.net
    x, batch, seen, hook = _recorded_batch(net, 6)
    mixed = VideoClassifier(net, CLASS_NAMES, 8, (24, 32), generator_mix=1.0, role="classifier_vae")
    with pytest.raises(ValueError, match=r"classifier_vae: generator_mix=1.0 needs a generator"):
        mixed.training_step(batch, 0)
    mixed.use_generator(lambda v: torch.full_like(v, -0.5))  # every clip rendered as flat grey
    seen.clear()
    mixed.training_step(batch, 0)
    assert torch.equal(seen[-1], torch.full_like(x, -0.5))
    torch.manual_seed(0)
    half = VideoClassifier(net, CLASS_NAMES, 8, (24, 32), generator_mix=0.5)
    half.use_generator(lambda v: torch.full_like(v, -0.5))
    half.training_step(batch, 0)
    rendered = (seen[-1] == -0.5).flatten(1).all(1)
    kept = (seen[-1] == x).flatten(1).all(1)
    assert (rendered | kept).all() and 0 < int(rendered.sum()) < 6  # labels kept, some clips replaced
    half.validation_step(batch, 0)
    assert torch.equal(seen[-1], x)  # validation sees the real clips
    plain = VideoClassifier(net, CLASS_NAMES, 8, (24, 32))
    plain.training_step(batch, 0)
    assert torch.equal(seen[-1], x)  # generator_mix 0: no generator needed
    hook.remove()
    with pytest.raises(ValueError, match=r"generator_mix=1.5 must be a number in \[0, 1\]"):
        VideoClassifier(net, CLASS_NAMES, 8, (24, 32), generator_mix=1.5)
    defs = {"best": {"classifiers": ["classifier_robust", "classifier_vae"], "latent": "vae", "prior": "norm"},
            "no_vae_domain": {"base": "best", "ablate": ["vae_domain"]}}
    assert resolve_method(defs, "no_vae_domain")["classifiers"] == ["classifier_robust", "classifier"]


def test_negatives_join_each_training_batch_with_a_uniform_target(tiny_classifier):
    from videogen3d.tasks.classifier import VideoClassifier
    net = tiny_classifier.net
    x, batch, seen, hook = _recorded_batch(net, 8)
    model = VideoClassifier(net, CLASS_NAMES, 8, (24, 32), negative_share=0.25, role="classifier_vae")
    with pytest.raises(ValueError, match=r"classifier_vae: negative_share=0.25 needs negative clips"):
        model.training_step(batch, 0)
    negatives = torch.full((5, 3, 8, 24, 32), 0.25)
    model.use_negatives(negatives)
    loss = model.training_step(batch, 0)
    assert seen[-1].shape[0] == 10 and torch.equal(seen[-1][:8], x)  # a quarter of 8 clips added
    assert torch.equal(seen[-1][8:], negatives[:2])
    with torch.no_grad():  # the loss: cross-entropy to one-hot labels and to uniform for the negatives
        logits = net(seen[-1])
    k = len(CLASS_NAMES)
    want = torch.cat([torch.nn.functional.one_hot(torch.arange(8), k).float(), torch.full((2, k), 1 / k)])
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, want).item(), rel=1e-5)
    model.validation_step(batch, 0)
    assert torch.equal(seen[-1], x)  # validation sees the real clips alone
    hook.remove()
    with pytest.raises(ValueError, match=r"negative_share=2 must be a number in \[0, 1\]"):
        VideoClassifier(net, CLASS_NAMES, 8, (24, 32), negative_share=2)


def test_vae_domain_classifier_needs_its_init_and_the_vae():
    from omegaconf import OmegaConf

    from videogen3d.synthesis.methods import needed_checkpoints, stage_checkpoints
    cfg = OmegaConf.create({"classifier": {"vae_domain": {"init": "classifier"}}, "synthesis": {
        "methods": ["best"], "method_defs": {"best": {"classifiers": ["classifier_robust", "classifier_vae"],
                                                      "latent": "vae", "prior": "norm"}}}})
    assert needed_checkpoints(cfg) == {"classifier", "classifier_robust", "classifier_vae", "vae"}
    assert stage_checkpoints(cfg, "classifier") == ["classifier", "classifier_robust"]
    assert stage_checkpoints(cfg, "autoencoder") == ["classifier_vae", "vae"]
    cfg.classifier.vae_domain.init = "classifier_robust"
    assert needed_checkpoints(cfg) == {"classifier_robust", "classifier_vae", "vae"}
