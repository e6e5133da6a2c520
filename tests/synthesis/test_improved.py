"""Our additions to seed 003's synthesis: per-step jitter, TV, coarse-to-fine, normalised steps, Langevin
noise, ensembles, method definitions with ablation flags, and PGD adversarial examples (robust C3D)."""

import pytest
import pytorch_lightning as pl
import torch
from _synth_helpers import C3D_MODULE, C3D_NET, build

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.methods import ABLATIONS, resolve_method, synthesis_kwargs
from videogen3d.losses.synthesis import parse_targets
from videogen3d.losses.robust import cross_entropy_sum, pgd_attack
from videogen3d.data.transforms import coarse_gradient, jitter, normalise_gradient, total_variation
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.tasks.synthesis import PixelSynthesis
from videogen3d.utils.config import ConfigError


def _fit(module: PixelSynthesis) -> None:
    pl.Trainer(max_steps=module.iterations, max_epochs=1, logger=False, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False, accelerator="cpu").fit(module)


def _grad(m: PixelSynthesis) -> torch.Tensor:
    m.video.grad = None
    m.objective(m.losses()).backward()
    return m.video.grad.clone()


def test_jitter_is_redrawn_every_step_and_changes_the_gradient(tiny_classifier):
    targets, _ = parse_targets(["car_right", "ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, iterations=3, seed=3)
    plain = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw).train()
    jit = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), jitter={"shift": 2, "scale": 0.1,
                                                                            "time_shift": 1}, **kw).train()
    assert torch.equal(plain.video, jit.video)  # same start
    g0, g1, g2 = _grad(plain), _grad(jit), _grad(jit)
    assert not torch.allclose(g0, g1, rtol=1e-2, atol=1e-6)  # jitter changes the video's gradient...
    assert not torch.allclose(g1, g2, rtol=1e-2, atol=1e-6)  # ...and is drawn anew at each step
    assert torch.equal(_grad(plain), g0)  # without jitter the gradient is deterministic
    with torch.no_grad():  # evaluation (eval mode) sees the video itself
        jit.eval()
        assert torch.equal(jit.losses()["l_c3d"], plain.eval().losses()["l_c3d"])


def test_jitter_moves_content_and_zero_jitter_is_identity():
    v = -torch.ones(2, 3, 4, 8, 8)
    v[:, :, :, 3:5, 3:5] = 1.0
    assert jitter(v) is v
    g = torch.Generator().manual_seed(0)
    moved = jitter(v, shift=2.0, generator=g)
    assert moved.shape == v.shape and not torch.allclose(moved, v)
    assert float(moved.sum()) == pytest.approx(float(v.sum()), rel=0.2)  # shifted, not erased


def test_total_variation_coarse_and_normalised_gradients():
    smooth, noisy = torch.zeros(1, 3, 4, 8, 8), torch.rand(1, 3, 4, 8, 8)
    assert total_variation(smooth).item() == 0 and total_variation(noisy).item() > 0.2
    g = torch.randn(2, 3, 4, 8, 8)
    c = coarse_gradient(g, 2)
    assert torch.allclose(c[..., 0::2, 0::2], c[..., 1::2, 1::2])  # constant on 2x2 blocks
    assert torch.allclose(c.sum(dim=(-1, -2)), g.sum(dim=(-1, -2)), atol=1e-4)  # same block sums
    with pytest.raises(ValueError, match="factor=3 must divide the frame size 8x8"):
        coarse_gradient(g, 3)
    n = normalise_gradient(g * torch.tensor([1e-3, 10.0]).view(2, 1, 1, 1, 1))
    assert torch.allclose(n.flatten(1).pow(2).mean(1).sqrt(), torch.ones(2), atol=1e-5)


def test_normgd_coarse_phase_tv_and_langevin_switch_on_and_off(tiny_classifier):
    targets, _ = parse_targets(["balloon_up"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, optimizer="normgd", lr=0.05, iterations=2, seed=1)
    coarse = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), coarse_factor=4, coarse_until=1.0,
                            clamp=False, **kw)
    start = coarse.video.detach().clone()
    _fit(coarse)
    step = coarse.video.detach() - start
    blocks = step.unfold(3, 4, 4).unfold(4, 4, 4)  # (N, C, T, 6, 8, 4, 4)
    spread = blocks.amax((-1, -2)) - blocks.amin((-1, -2))
    assert spread.max() < 1e-5 and step.abs().max() > 1e-3  # the coarse phase moves whole 4x4 blocks
    tv = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), eta_tv=50.0, **kw)
    before = total_variation(tv.video.detach()).item()
    _fit(tv)
    assert total_variation(tv.video.detach()).item() < before
    quiet = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw)
    noisy = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), langevin=0.2, **kw)
    _fit(quiet), _fit(noisy)
    assert (noisy.video - quiet.video).abs().mean() > 0.05
    assert noisy.settings()["langevin"] == 0.2 and quiet.settings()["langevin"] is None
    with pytest.raises(ValueError, match="optimizer='sgd' is unknown"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), optimizer="sgd")
    with pytest.raises(ValueError, match=r"jitter keys \['angle'\] are unknown"):
        PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), method="comparison", jitter={"angle": 3})


def test_an_ensemble_averages_its_members(tiny_classifier):
    torch.manual_seed(1)
    other = build(C3D_MODULE).eval()
    targets, _ = parse_targets(["car_left"], CLASS_NAMES)
    kw = dict(method="comparison", iterations=1)
    a = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw).eval()
    b = PixelSynthesis(other.net, targets, 8, (24, 32), **kw).eval()
    both = PixelSynthesis([tiny_classifier.net, other.net], targets, 8, (24, 32), **kw).eval()
    with torch.no_grad():
        la, lb, lab = a.losses()["l_c3d"], b.losses()["l_c3d"], both.losses()["l_c3d"]
    assert torch.allclose(lab, (la + lb) / 2) and both.settings()["classifiers"] == 2


DEFS = {"best": {"classifiers": ["classifier_robust", "classifier"], "autoencoder": "autoencoder_dae",
                 "prior_gradient": "residual", "optimizer": "adam", "lr": 0.05, "jitter": {"shift": 2},
                 "eta_tv": 0.1, "langevin": 0.01, "coarse_factor": 2, "coarse_until": 0.5, "label": "Best"},
        "ours": {}, "comparison": {"prior": "norm"}}


@pytest.mark.parametrize("component,key,off", [
    ("robust", "classifiers", ["classifier"]), ("ensemble", "classifiers", ["classifier_robust"]),
    ("jitter", "jitter", None), ("tv", "eta_tv", 0.0), ("langevin", "langevin", 0.0), ("coarse", "coarse_factor", 1),
    ("dae", "autoencoder", "autoencoder"), ("prior", "autoencoder", None), ("step", "optimizer", "gd")])
def test_each_ablation_flag_switches_its_component_off_and_nothing_else(component, key, off):
    defs = DEFS | {"abl": {"base": "best", "ablate": [component]}}
    best, abl = resolve_method(defs, "best"), resolve_method(defs, "abl")
    assert abl[key] == off and best[key] != off and abl["ablate"] == [component] and "label" not in abl
    changed = {k for k in best.keys() | abl.keys() if best.get(k) != abl.get(k)} - {"ablate", "label"}
    expected = {"robust": {"classifiers"}, "ensemble": {"classifiers"}, "jitter": {"jitter"}, "tv": {"eta_tv"},
                "langevin": {"langevin"}, "coarse": {"coarse_factor", "coarse_until"},
                "dae": {"autoencoder", "prior_gradient"}, "prior": {"prior", "autoencoder", "eta_norm"},
                "step": {"optimizer"}}[component]
    assert changed == expected and component in ABLATIONS
    kw = synthesis_kwargs({"iterations": 7, "eta_tv": 0.0, "jitter": None}, abl)
    assert kw["iterations"] == 7 and kw["method"] == ("comparison" if component == "prior" else "ours")


def test_method_definitions_refuse_bad_entries():
    assert resolve_method(DEFS, "ours")["autoencoder"] == "autoencoder"
    assert resolve_method(DEFS, "comparison")["autoencoder"] is None
    with pytest.raises(ConfigError, match=r"ablate names unknown components \['robustness'\]"):
        resolve_method(DEFS | {"x": {"base": "best", "ablate": ["robustness"]}}, "x")
    with pytest.raises(ConfigError, match=r"method 'nope' is not defined"):
        resolve_method(DEFS, "nope")
    with pytest.raises(ValueError, match=r"method_defs.x has unknown keys \['etaa'\]"):
        resolve_method(DEFS | {"x": {"etaa": 1}}, "x")
    with pytest.raises(ValueError, match="base chain loops"):
        resolve_method({"a": {"base": "b"}, "b": {"base": "a"}}, "a")


def test_pgd_stays_in_the_ball_and_raises_the_loss(tiny_classifier):
    torch.manual_seed(0)
    x, y = torch.rand(4, 3, 8, 24, 32) * 2 - 1, torch.tensor([0, 3, 5, 7])
    loss = cross_entropy_sum(tiny_classifier, y)
    for norm, eps in (("linf", 0.05), ("l2", 2.0)):
        adv = pgd_attack(loss, x, eps, steps=3, norm=norm)
        d = (adv - x).flatten(1)
        size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
        assert (size <= eps + 1e-5).all() and adv.abs().max() <= 1 and not adv.requires_grad
        with torch.no_grad():
            assert loss(adv) > loss(x)
    with pytest.raises(ValueError, match=r"classifier.adv_norm='l1' is unknown"):
        pgd_attack(loss, x, 0.1, 1, norm="l1")
    with pytest.raises(ValueError, match=r"judge.adv_eps=-0.1 must be >= 0"):
        VideoClassifier(build(C3D_NET), CLASS_NAMES, 8, (24, 32), role="judge", adv_eps=-0.1)


def _object_share(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the input gradient's magnitude on object pixels (non-white, grown by one pixel)."""
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x), y, reduction="sum"), x)
    sal = g.abs().sum(1)
    obj = torch.nn.functional.max_pool3d((x.detach().min(1).values < 0.9).float()[:, None], (1, 3, 3), 1, (0, 1, 1))[:, 0]
    return float((sal * obj).sum() / sal.sum())


def test_a_robust_c3d_has_its_input_gradient_on_the_object():
    """Perceptual alignment, measured: after the same 30 steps, the share of the input gradient's magnitude
    that falls on the moving object (about 14 % of the pixels) is far larger for the adversarially trained
    C3D (PGD, linf eps 0.2) than for the standard one, whose gradient is spread over the white background."""
    import numpy as np

    from videogen3d.data.moving_objects import render_clip
    from videogen3d.models.c3d import C3D

    rng = np.random.default_rng(0)
    clips = [(render_clip(c, rng, (24, 32), 8), k) for k, c in enumerate(CLASS_NAMES) for _ in range(3)]
    x = torch.stack([torch.from_numpy(v).permute(3, 0, 1, 2).float() / 127.5 - 1 for v, _ in clips])
    y = torch.tensor([k for _, k in clips])
    shares = {}
    for eps in (0.0, 0.2):
        torch.manual_seed(0)
        m = VideoClassifier(C3D(11, 8, (24, 32), pools=3, width=0.125, fc_dim=32, dropout=0.0), CLASS_NAMES, 8,
                            (24, 32), adv_eps=eps)
        m.log = lambda *a, **k: None  # no trainer attached
        opt = torch.optim.Adam(m.parameters(), 3e-3)
        for _ in range(30):
            idx = torch.randperm(len(x))[:16]
            loss = m.training_step({"target": x[idx], "label": y[idx]}, 0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        shares[eps] = _object_share(m.eval(), x, y)
    assert shares[0.2] > 2 * shares[0.0] and shares[0.2] > 0.4, shares
