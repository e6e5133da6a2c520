"""The temporal-shift guide (classifier.tsm, ours): another architecture than the C3Ds, trained from scratch in stage
autoencoder on real clips and the clip VAE's reconstructions, built from its own net node (not merged over the
C3D's), reused like every checkpoint, and a member of best's ensemble (best_no_tsm: the C3Ds alone, as the
VAE-domain C3D's introspective rounds use)."""

import torch
from _synth_helpers import run_logged
from test_pair_guide import _ckpt
from test_stages import _cfg

from videogen3d.synthesis.methods import introspection, method_spec, needed_checkpoints, stage_checkpoints

TSM = ["stage=all", "synthesis.methods=[best,best_no_tsm]", "classifier.vae_domain.introspection.rounds=0"]


def test_the_tsm_guide_is_trained_from_scratch_on_the_vaes_clips_and_steers_best(tmp_path, caplog):
    log = run_logged(caplog, _cfg(tmp_path, *TSM))
    work = tmp_path / "work"
    tsm = _ckpt(work / "checkpoints" / "classifier_tsm.ckpt")
    hp = tsm["hyper_parameters"]
    assert (hp["generator_mix"], hp["role"]) == (0.5, "classifier_tsm")
    net = tsm["module_config"]["net"]
    assert net["_target_"] == "videogen3d.models.tsm.TemporalShiftNet" and "pools" not in net  # its own node, not the C3D's
    assert set(tsm["data_config"]["made_from"]) == {"vae"}  # no init checkpoint: from scratch; the VAE it renders with
    assert any(k.startswith("net.body.") and ".conv.0.weight" in k and v.dim() == 4 for k, v in tsm["state_dict"].items())
    assert "classifier_tsm: test accuracy" in log
    note = (work / "table.md").read_text()
    assert "best: C3D classifier_robust, classifier_vae; TemporalShiftNet classifier_tsm;" in note
    assert "best_no_tsm: C3D classifier_robust, classifier_vae;" in note
    best, c3ds = (_ckpt(work / "synthesis" / m / "videos.pt") for m in ("best", "best_no_tsm"))
    assert best["names"] == c3ds["names"]
    assert not torch.equal(best["videos"], c3ds["videos"])  # the third guide moved the videos
    log = run_logged(caplog, _cfg(tmp_path, *TSM))  # the same settings: reused, videos too
    assert "classifier_tsm: reusing" in log and "synthesis best: reusing" in log


def test_the_tsm_guide_is_needed_only_where_a_method_names_it(tmp_path):
    cfg = _cfg(tmp_path, *TSM)
    assert "classifier_tsm" in needed_checkpoints(cfg) and "classifier_tsm" in stage_checkpoints(cfg, "autoencoder")
    for methods in ("[best_no_tsm]", "[ours,comparison]"):  # the introspective rounds (on by default) do not need it
        assert "classifier_tsm" not in needed_checkpoints(_cfg(tmp_path, f"synthesis.methods={methods}"))
    assert method_spec(cfg, "best")["classifiers"] == ["classifier_robust", "classifier_vae", "classifier_tsm"]
    assert method_spec(cfg, "best_no_tsm")["classifiers"] == ["classifier_robust", "classifier_vae"]
    rounds = introspection(_cfg(tmp_path, "synthesis.methods=[best]"))
    assert rounds["method"] == "best_no_tsm" and rounds["spec"]["classifiers"] == ["classifier_robust", "classifier_vae"]
