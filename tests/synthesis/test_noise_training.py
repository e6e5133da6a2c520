"""The noise-trained C3D option (classifier.noise_level, ours) and stage=all retraining a changed checkpoint."""

import logging
import re

import pytest
import torch
from _synth_helpers import C3D_MODULE, C3D_NET, build
from test_stages import _cfg

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.stages import run
from videogen3d.utils.config import ConfigError
from videogen3d.tasks.classifier import VideoClassifier


class _Recorder(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.net(x)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\(\)`")
def test_noise_level_corrupts_training_clips_only_and_keeps_labels():
    torch.manual_seed(0)
    model = build(C3D_MODULE, noise_level=0.5)
    model.net = _Recorder(model.net)
    white = torch.ones(6, 3, 8, 24, 32)
    batch = {"target": white, "label": torch.arange(6)}
    loss = model.training_step(batch, 0)
    seen = model.net.seen[-1]
    assert torch.isfinite(loss) and seen.shape == white.shape and seen.min() >= -1 and seen.max() <= 1
    # blend: x' = (1 - a) + a u, a <= 0.5 per clip, so each clip moves off white but by at most 2a <= 1
    dev = (seen - white).abs().flatten(1).amax(1)
    assert (dev > 0).all() and (dev <= 1.0 + 1e-6).all()
    assert len(set(dev.round(decimals=3).tolist())) > 1  # a differs between clips
    model.validation_step(batch, 0)
    assert torch.equal(model.net.seen[-1], white)  # validation (and test) see clean clips
    clean = build(C3D_MODULE)
    clean.net = _Recorder(clean.net)
    clean.training_step(batch, 0)
    assert torch.equal(clean.net.seen[-1], white)  # the seed's default: clean training clips


@pytest.mark.parametrize("kwargs, match", [
    ({"noise_level": 1.5}, r"classifier\.noise_level=1\.5 for corruption='blend' must be in \[0, 1\]"),
    ({"noise_level": -0.1, "corruption": "gaussian"}, r"classifier\.noise_level=-0\.1 .* must be >= 0"),
    ({"noise_level": 0.5, "corruption": "salt", "role": "judge"}, r"judge\.corruption='salt' is unknown.*'blend'"),
])
def test_bad_noise_settings_name_the_key(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoClassifier(build(C3D_NET), CLASS_NAMES, 8, (24, 32), **kwargs)


def test_stage_all_retrains_only_the_checkpoint_whose_settings_changed(tmp_path, caplog, capsys):
    one = ["stage=all", "synthesis.methods=[ours,comparison]"]
    run(_cfg(tmp_path, *one))
    ckpts = tmp_path / "work" / "checkpoints"
    before = {n: (ckpts / f"{n}.ckpt").stat().st_mtime_ns for n in ("classifier", "autoencoder", "judge")}
    with caplog.at_level(logging.INFO, logger="videogen3d.synthesis.stages"):
        run(_cfg(tmp_path, *one, "classifier.module.noise_level=0.5"))
    assert "built with other settings (module.noise_level: 0.0 -> 0.5); training it again" in caplog.text
    after = {n: (ckpts / f"{n}.ckpt").stat().st_mtime_ns for n in before}
    assert after["classifier"] != before["classifier"]
    assert (after["autoencoder"], after["judge"]) == (before["autoencoder"], before["judge"])
    hp = torch.load(ckpts / "classifier.ckpt", map_location="cpu", weights_only=True)["hyper_parameters"]
    assert (hp["noise_level"], hp["corruption"]) == (0.5, "blend")
    run(_cfg(tmp_path, "stage=table", "synthesis.methods=[ours,comparison]"))
    assert "C3D trained with blend 0.5 input noise, labels kept" in capsys.readouterr().out
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="videogen3d.synthesis.stages"):
        run(_cfg(tmp_path, *one, "classifier.module.noise_level=0.5", "synthesis.iterations=1"))
    assert "training it again" not in caplog.text and "classifier: reusing" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="videogen3d.synthesis.stages"):
        run(_cfg(tmp_path, *one, "classifier.module.noise_level=0.5", "judge.epochs=2", "synthesis.iterations=1"))
    assert "judge.ckpt was built with other settings (epochs: 1 -> 2); training it again" in caplog.text
    assert "classifier: reusing" in caplog.text
    assert "synthesis ours: reusing" in caplog.text  # same settings, same checkpoints: not made again


def test_a_bad_noise_setting_is_refused_before_any_stage_trains(tmp_path):
    with pytest.raises(ValueError, match=r"autoencoder\.dae\.module\.noise_std=1\.5 for corruption='blend' must be "
                                         r"in \[0, 1\]"):
        run(_cfg(tmp_path, "stage=all", "autoencoder.dae.module.noise_std=1.5"))
    assert not (tmp_path / "work" / "checkpoints").exists()  # nothing trained, nothing written


@pytest.mark.parametrize("override", ["vae.epochs=-1", "judge.epochs=0", "classifier.robust.epochs=2.5"])
def test_a_bad_epochs_is_refused_before_any_stage_trains(tmp_path, override):
    with pytest.raises(ConfigError, match=rf"{re.escape(override)} must be a whole number of epochs >= 1"):
        run(_cfg(tmp_path, "stage=all", override))
    assert not (tmp_path / "work" / "checkpoints").exists()  # nothing trained, nothing written
