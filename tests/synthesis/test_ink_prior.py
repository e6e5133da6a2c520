"""The ink prior of a multi-label video's layers (``eta_ink``, ours): each layer held near its label's mean ink per
frame in the real training clips (``class_ink``), so that neither object of a two-object video outgrows the other.
Single-label videos never see it."""

import math

import pytest
import torch
from torch import nn

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.data.transforms import ink_per_frame
from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis.methods import resolve_method
from videogen3d.tasks.synthesis import PixelSynthesis


def test_ink_per_frame_sums_each_frames_ink_from_the_floor_up():
    video = torch.ones(2, 3, 2, 6, 8)  # (N, C, T, H, W) in [0, 1], white
    video[0, :, 0, 1:5, 2:7] = 0.2    # 4 x 5 pixels of ink 0.8 in frame 0
    video[0, :, 1, 0, 0] = 0.97       # one pixel of ink 0.03 in frame 1: haze
    video[1, 0, 0, 0, 0] = 0.4        # a red-less pixel: ink (1 - (0.4 + 1 + 1) / 3) = 0.2
    ink = ink_per_frame(video)
    assert ink.shape == (2, 2)
    assert torch.allclose(ink, torch.tensor([[16.0, 0.03], [0.2, 0.0]]), atol=1e-5)
    floored = ink_per_frame(video, 0.05)
    assert torch.allclose(floored, torch.tensor([[16.0, 0.0], [0.2, 0.0]]), atol=1e-5)  # the haze is not counted
    assert torch.allclose(ink_per_frame(video.transpose(0, 1), dim=0), ink)  # channels on another dimension


def _synth(net, vae, targets, **kw):
    base = dict(method="comparison", eta_norm=0.0, generator=vae, optimizer="adam", lr=0.1, iterations=8, seed=0,
                layers=True, matte=0.05)
    return PixelSynthesis(net, targets, 8, (24, 32), **(base | kw))


def test_the_ink_prior_is_a_multi_label_layers_log_ink_ratio_and_nothing_else(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    class_ink = torch.arange(1, len(CLASS_NAMES) + 1, dtype=torch.float32) * 5
    plain = _synth(tiny_classifier.net, tiny_vae, targets).eval()
    inked = _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=2.0, class_ink=class_ink).eval()
    with torch.no_grad():
        terms, before = inked.losses(), plain.losses()
        layers = inked._layers()
    assert "l_ink" not in before and torch.equal(terms["l_c3d"], before["l_c3d"])  # the other terms are as they were
    car, rocket = CLASS_NAMES.index("car_right"), CLASS_NAMES.index("rocket_up")
    have = ink_per_frame(layers[0], 0.05).mean(-1)  # the two layers of the multi-label video, counted from the matte up
    want = sum(math.log((float(h) + 1) / (float(class_ink[k]) + 1)) ** 2 for h, k in zip(have, (car, rocket)))
    assert math.isclose(float(terms["l_ink"][0]), want, rel_tol=1e-5) and want > 0
    assert float(terms["l_ink"][1]) == 0.0  # a single-label video has no ink term
    assert math.isclose(float(inked.objective(terms)), float(plain.objective(before)) + 2.0 * want, rel_tol=1e-5)
    assert inked.settings()["eta_ink"] == 2.0 and plain.settings()["eta_ink"] is None


class _Blob(nn.Module):
    """A generator whose code's first entry sets the darkness of its one object, a 6 x 10 block: its ink per frame
    is 60 * sigmoid(u[0]); the other entries draw nothing."""

    latent_dim = 4

    def decode_whitened(self, u: torch.Tensor) -> torch.Tensor:
        video = torch.ones(len(u), 3, 8, 24, 32)
        dark = torch.zeros_like(video)
        dark[..., 9:15, 11:21] = 1.0
        return (1 - dark * torch.sigmoid(u[:, 0]).view(-1, 1, 1, 1, 1)) * 2 - 1


def test_the_ink_prior_moves_a_layer_toward_its_class_ink_and_leaves_single_label_videos_alone(tiny_classifier):
    """With the classifier term all but off, the prior pulls each layer's ink toward its label's, up or down: here
    the car layer starts at about a third of car_right's 40 per frame and the rocket layer at about three times
    rocket_up's 15. The single-label video is optimised exactly as without it."""
    from pytorch_lightning import Trainer

    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    class_ink = torch.full((len(CLASS_NAMES),), 30.0)
    class_ink[CLASS_NAMES.index("car_right")], class_ink[CLASS_NAMES.index("rocket_up")] = 40.0, 15.0
    want = torch.tensor([40.0, 15.0])
    runs = {}
    for name, extra in (("plain", {}), ("inked", {"eta_ink": 1.0, "class_ink": class_ink})):
        m = _synth(tiny_classifier.net, _Blob(), targets, eta_c3d=1e-6, eta_code=0.0, iterations=20, **extra)
        if name == "plain":
            with torch.no_grad():
                start = ink_per_frame(m._layers()[0], 0.05).mean(-1)
        Trainer(max_steps=m.iterations, max_epochs=1, logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False).fit(m)
        runs[name] = m
    with torch.no_grad():
        inked, plain = (ink_per_frame(runs[k]._layers()[0], 0.05).mean(-1) for k in ("inked", "plain"))
    assert start[0] < 20 and start[1] > 35, start  # the seed's start: a faint car, a dark rocket
    assert bool(((plain - want).abs() > 0.8 * (start - want).abs()).all()), (start, plain)  # without it they stay
    assert bool(((inked - want).abs() < 0.5 * (start - want).abs()).all()), (start, inked)  # more than halfway there
    assert torch.equal(runs["inked"].code[1], runs["plain"].code[1])  # the single-label video: the same steps


def test_the_ink_prior_is_refused_where_it_cannot_run_and_its_ablation_switches_it_off(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right+rocket_up"], CLASS_NAMES)
    ink = torch.ones(len(CLASS_NAMES))
    with pytest.raises(ValueError, match=r"synthesis eta_ink=1.0 needs class_ink: each of the 11 classes' mean ink"):
        _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=1.0)
    with pytest.raises(ValueError, match=r"needs class_ink.*got \[1\.0, 1\.0\]"):
        _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=1.0, class_ink=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"needs class_ink.*> 0"):
        _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=1.0, class_ink=ink * 0)
    with pytest.raises(ValueError, match=r"synthesis eta_ink=-1.0 must be >= 0"):
        _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=-1.0, class_ink=ink)
    with pytest.raises(ValueError, match=r"synthesis eta_ink=1.0 weighs the ink .* needs a generator .* layers: true"):
        _synth(tiny_classifier.net, tiny_vae, targets, eta_ink=1.0, class_ink=ink, layers=False)
    defs = {"best": {"latent": "vae", "layers": True, "matte": 0.05, "eta_ink": 1.0},
            "abl": {"base": "best", "ablate": ["ink"]}}
    best, abl = resolve_method(defs, "best"), resolve_method(defs, "abl")
    assert abl["eta_ink"] == 0.0 and {k for k in best if best.get(k) != abl.get(k)} == {"eta_ink", "ablate"}


def test_class_ink_is_each_classs_mean_ink_per_frame_over_the_classifiers_training_clips(tmp_path):
    from test_stages import _cfg

    from videogen3d.synthesis.stages import _Run
    from videogen3d.synthesis.synthesize import class_ink

    r = _Run(_cfg(tmp_path, "stage=synthesis"), overrides=[])
    ink = class_ink(r, 0.05)
    dm = r.datamodule("main")
    train = dm.train_bank  # the training split, sequence by sequence, (frames, H, W, 3)
    per_seq = [ink_per_frame(train.target[a:b].permute(3, 0, 1, 2).float() / 255, 0.05, dim=0).mean()
               for a, b in zip(train.offsets[:-1].tolist(), train.offsets[1:].tolist())]
    want = [torch.stack([v for v, c in zip(per_seq, train.labels.tolist()) if c == k]).mean()
            for k in range(len(CLASS_NAMES))]
    assert torch.allclose(ink, torch.stack(want), rtol=1e-4)  # clips are of one length: the mean of clip means
    assert ink[CLASS_NAMES.index("car_right")] > 2 * ink[CLASS_NAMES.index("rocket_up")]  # a car carries more ink
