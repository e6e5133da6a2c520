"""Introspective rounds of the VAE-domain C3D (classifier.vae_domain.introspection, ours): best's own videos,
made with the C3D as it stands, become its negatives, round after round, inside stage=all."""


import json

import pytest
import torch
from omegaconf import OmegaConf
from _synth_helpers import run_logged
from test_stages import _cfg

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.methods import method_spec, needed_checkpoints, stage_checkpoints
from videogen3d.synthesis.stages import run
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.utils.config import ConfigError

ROUNDS = ["classifier.vae_domain.introspection.rounds=2", "classifier.vae_domain.introspection.iterations=2",
          "classifier.vae_domain.introspection.videos_per_target=1", "classifier.vae_domain.module.negative_share=0.25",
          "stage=all", "synthesis.methods=[best,best_no_negatives]",
          "classifier.vae_domain.introspection.max_val_drop=null"]  # every round kept (the guard: its own test)


def _ckpt(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_rounds_make_negatives_with_the_current_c3d_and_train_it_again_on_all_of_them(tmp_path, caplog, monkeypatch):
    banks = []
    use = VideoClassifier.use_negatives
    monkeypatch.setattr(VideoClassifier, "use_negatives", lambda self, v: (banks.append(v.clone()), use(self, v))[1])
    log = run_logged(caplog, _cfg(tmp_path, *ROUNDS))
    work = tmp_path / "work"
    k = len(CLASS_NAMES)
    rounds = [_ckpt(work / "negatives" / f"round{i}" / "videos.pt") for i in (1, 2)]
    assert [r["settings"]["guide"] for r in rounds] == ["classifier_vae_plain", "classifier_vae"]
    assert [(r["settings"]["seed"], r["settings"]["iterations"]) for r in rounds] == [(100, 2), (101, 2)]
    assert [r["names"] for r in rounds] == [list(CLASS_NAMES)] * 2
    assert all(r["videos"].shape == (k, 3, 8, 24, 32) for r in rounds)
    assert not torch.allclose(rounds[0]["videos"], rounds[1]["videos"])
    # round 1 trains on its own videos, round 2 on both rounds' (the plain C3D on none)
    assert [len(b) for b in banks] == [k, 2 * k]
    assert torch.equal(banks[0], rounds[0]["videos"]) and torch.equal(banks[1], torch.cat([r["videos"] for r in rounds]))
    assert "introspective round 2 of 2: 11 negatives by best_no_tsm guided by classifier_vae" in log  # best's C3Ds
    plain, final = _ckpt(work / "checkpoints" / "classifier_vae_plain.ckpt"), _ckpt(work / "checkpoints" / "classifier_vae.ckpt")
    assert (plain["hyper_parameters"]["negative_share"], final["hyper_parameters"]["negative_share"]) == (0.0, 0.25)
    assert any(not torch.equal(plain["state_dict"][n], t) for n, t in final["state_dict"].items() if t.is_floating_point())
    # the ablation row is synthesised with the plain C3D, best with the final one
    evaluation = (work / "evaluation.json").read_text()
    assert "best_no_negatives" in evaluation
    spec = method_spec(_cfg(tmp_path, *ROUNDS), "best_no_negatives")
    assert spec["classifiers"] == ["classifier_robust", "classifier_vae_plain", "classifier_tsm"]
    assert spec["ablate"] == ["negatives"]

    banks.clear()
    log = run_logged(caplog, _cfg(tmp_path, *ROUNDS))  # the same settings: nothing trained again
    assert "classifier_vae: reusing" in log and "classifier_vae_plain: reusing" in log
    assert "introspective round" not in log and banks == []
    log = run_logged(caplog, _cfg(tmp_path, *ROUNDS, "classifier.vae_domain.introspection.seed=7"))  # other negatives
    assert "classifier_vae_plain: reusing" in log
    assert "classifier_vae.ckpt was built with other settings (introspection" in log
    assert _ckpt(work / "negatives" / "round2" / "videos.pt")["settings"]["seed"] == 8
    # a retrained robust C3D (it guides the rounds' videos) makes other negatives: the C3D trained on them is
    # trained again (it was reused with the stale negatives before), the plain one, which never sees them, is not
    log = run_logged(caplog, _cfg(tmp_path, *ROUNDS, "classifier.vae_domain.introspection.seed=7",
                                  "classifier.robust.module.adv_eps=0.05"))
    assert "classifier_robust.ckpt was built with other settings (module.adv_eps" in log
    assert "classifier_vae_plain: reusing" in log and "introspective round 2 of 2" in log
    assert "classifier_vae.ckpt was built with other settings (introspection" in log
    guides = _ckpt(work / "checkpoints" / "classifier_vae.ckpt")["data_config"]["introspection"]["guides"]
    robust = work / "checkpoints" / "classifier_robust.ckpt"
    assert guides["classifier_robust"] == [robust.stat().st_size, robust.stat().st_mtime_ns] and "vae" in guides


@pytest.mark.parametrize("extra, match", [
    (["classifier.vae_domain.module.negative_share=0.0"],
     r"introspection\.rounds=2 needs classifier\.vae_domain\.module\.negative_share > 0"),
    (["classifier.vae_domain.introspection.method=pixel_best"],
     r"introspection\.method='pixel_best' does not use classifier_vae"),
    (["classifier.vae_domain.introspection.iterations=0"], r"introspection\.iterations=0 must be a whole number >= 1"),
    (["classifier.vae_domain.introspection.method=nothing"], r"synthesis method 'nothing' is not defined"),
])
def test_bad_rounds_are_refused_before_anything_trains(tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        run(_cfg(tmp_path, *ROUNDS, *extra))
    assert not (tmp_path / "work" / "checkpoints").exists()


def test_rounds_need_the_plain_c3d_and_what_their_method_uses():
    cfg = OmegaConf.create({"classifier": {"vae_domain": {"init": "classifier", "module": {"negative_share": 0.25},
                                                          "introspection": {"rounds": 0, "method": "best",
                                                                            "iterations": 3, "videos_per_target": 1}}},
                            "synthesis": {"methods": ["best"], "method_defs": {
                                "best": {"classifiers": ["classifier_robust", "classifier_vae"], "latent": "vae",
                                         "prior": "norm"},
                                "best_no_negatives": {"base": "best", "ablate": ["negatives"]}}}})
    assert needed_checkpoints(cfg) == {"classifier", "classifier_robust", "classifier_vae", "vae"}
    cfg.classifier.vae_domain.introspection.rounds = 2
    assert needed_checkpoints(cfg) == {"classifier", "classifier_robust", "classifier_vae", "classifier_vae_plain", "vae"}
    assert stage_checkpoints(cfg, "autoencoder") == ["classifier_vae", "classifier_vae_plain", "vae"]
    cfg.classifier.vae_domain.introspection.rounds = 0
    cfg.synthesis.methods = ["best_no_negatives"]  # the ablation alone: the plain C3D, trained as classifier_vae was
    assert needed_checkpoints(cfg) == {"classifier", "classifier_robust", "classifier_vae_plain", "vae"}


def test_a_round_that_costs_real_clips_is_refused_and_the_plain_weights_kept(tmp_path, caplog, monkeypatch):
    # max_val_drop: a round whose C3D reads the real validation clips worse than the plain C3D by more than that
    # is refused (set 4 of the sixteenth session: the rounds' car-like negatives taught it to call real cars ships)
    from videogen3d.synthesis import training
    real_val, seen = training.val_accuracy, []
    guard = [*ROUNDS, "classifier.vae_domain.introspection.max_val_drop=0.05"]

    def fake(r, stage):  # the plain C3D reads 0.9 of the real clips, round 1's 0.8: refused
        seen.append((stage, real_val(r, stage)))
        return 0.9 if stage == "classifier_vae_plain" else 0.8

    monkeypatch.setattr(training, "val_accuracy", fake)
    log = run_logged(caplog, _cfg(tmp_path, *guard))
    assert [s for s, _ in seen] == ["classifier_vae_plain", "classifier_vae"] and all(0 <= v <= 1 for _, v in seen)
    assert "introspective round 1 refused: validation accuracy on real clips 0.800, more than 0.05 below the plain " \
           "C3D's 0.900" in log and "introspective round 2" not in log  # no further round
    work = tmp_path / "work" / "checkpoints"
    plain, final = _ckpt(work / "classifier_vae_plain.ckpt"), _ckpt(work / "classifier_vae.ckpt")
    assert all(torch.equal(plain["state_dict"][n], t) for n, t in final["state_dict"].items())
    assert final["introspection_refused"] == {"refused_round": 1, "kept_round": 0, "val_acc": 0.8,
                                              "plain_val_acc": 0.9, "max_val_drop": 0.05}
    report = json.loads((work / "classifier_vae.test.json").read_text())
    assert report["test_acc"] == json.loads((work / "classifier_vae_plain.test.json").read_text())["test_acc"]
    assert report["introspection_refused"]["refused_round"] == 1
    seen.clear()
    log = run_logged(caplog, _cfg(tmp_path, *guard))  # the refused run is a finished one: reused, no round again
    assert "classifier_vae: reusing" in log and seen == []
    # a drop within the bound keeps the rounds: the final weights are round 2's, not the plain C3D's
    monkeypatch.setattr(training, "val_accuracy", lambda r, stage: 0.9 if stage == "classifier_vae_plain" else 0.86)
    log = run_logged(caplog, _cfg(tmp_path, *ROUNDS, "classifier.vae_domain.introspection.max_val_drop=0.1"))
    assert "introspective round 2 of 2" in log and "refused" not in log
    final = _ckpt(work / "classifier_vae.ckpt")
    assert "introspection_refused" not in final
    assert any(not torch.equal(plain["state_dict"][n], t) for n, t in final["state_dict"].items() if t.is_floating_point())


def test_a_bad_max_val_drop_is_refused(tmp_path):
    for bad in ("1.5", "-0.1", "maybe"):
        with pytest.raises(ConfigError, match=rf"introspection\.max_val_drop='?{bad}'? must be null \(no guard\)"):
            run(_cfg(tmp_path, *ROUNDS, f"classifier.vae_domain.introspection.max_val_drop={bad}"))
    assert not (tmp_path / "work" / "checkpoints").exists()  # refused before anything trained


def test_the_guard_without_validation_clips_is_refused_before_anything_trains(tmp_path):
    # 4 clips per class and val_fraction 0.1: round(0.4) = 0 validation clips per class, so the guard had nothing to read
    # (a KeyError 'val/acc' after the VAE-domain C3D had trained); now a ConfigError naming both keys and the least count
    guard = [*ROUNDS, "classifier.vae_domain.introspection.max_val_drop=0.03", "dataset.source.clips_per_class=4"]
    with pytest.raises(ConfigError, match=r"max_val_drop=0\.03 compares accuracies on the real clips .* "
                                          r"dataset\.source\.clips_per_class=4 with dataset\.val_fraction=0\.1 puts "
                                          r"none there; use dataset\.source\.clips_per_class>=6 or"):
        run(_cfg(tmp_path, *guard))
    assert not (tmp_path / "work" / "checkpoints").exists()
    with pytest.raises(ConfigError, match=r"use dataset\.val_fraction>0 or"):
        run(_cfg(tmp_path, *guard, "dataset.val_fraction=0.0"))
    needed_checkpoints(_cfg(tmp_path, *ROUNDS, "dataset.source.clips_per_class=4"))  # no guard (null): allowed

