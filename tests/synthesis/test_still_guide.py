"""The still-frame guide (classifier.still, ours): the temporal-shift guide's network with no channel shifted, so it
reads each frame on its own; trained from scratch in stage autoencoder on real clips and the clip VAE's
reconstructions, needed only where a method names it, and a member of best_still's ensemble in the robust C3D's
place (thirtieth session's trial, docs/seed003_experiments.md)."""

import torch
from _synth_helpers import run_logged
from test_pair_guide import _ckpt
from test_stages import _cfg

from videogen3d.synthesis.checkpoints import load_module
from videogen3d.synthesis.methods import method_spec, needed_checkpoints, stage_checkpoints
from videogen3d.tasks.classifier import VideoClassifier

# best_no_still: best_still without its still guide (the ablation it has)
STILL = ["stage=all", "synthesis.methods=[best_still,best_no_still]", "classifier.vae_domain.introspection.rounds=0",
         "+synthesis.method_defs.best_no_still={base: best_still, ablate: [still]}"]


def test_the_still_guide_reads_frames_alone_and_steers_best_still(tmp_path, caplog):
    log = run_logged(caplog, _cfg(tmp_path, *STILL))
    work = tmp_path / "work"
    path = work / "checkpoints" / "classifier_still.ckpt"
    still = _ckpt(path)
    hp, net = still["hyper_parameters"], still["module_config"]["net"]
    assert (hp["generator_mix"], hp["role"]) == (0.5, "classifier_still")
    assert net["_target_"] == "videogen3d.models.tsm.TemporalShiftNet" and net["shift"] is False
    assert set(still["data_config"]["made_from"]) == {"vae"}  # from scratch; the VAE it renders with
    assert "classifier_still: test accuracy" in log and not (work / "checkpoints" / "classifier_robust.ckpt").exists()
    guide = load_module(path, "classifier_still", VideoClassifier, "").eval()
    clip_len, (h, w) = guide.geometry["clip_len"], guide.geometry["frame_size"]
    x = torch.rand(2, 3, clip_len, h, w) * 2 - 1
    with torch.no_grad():  # the checkpoint as synthesis loads it reads a clip played backwards as the clip itself
        torch.testing.assert_close(guide(x.flip(2)), guide(x))
    note = (work / "table.md").read_text()
    assert ("best_still: TemporalShiftNet without shifts (each frame alone) classifier_still; C3D classifier_vae; "
            "TemporalShiftNet classifier_tsm;") in note
    assert "best_no_still: C3D classifier_vae; TemporalShiftNet classifier_tsm;" in note
    with_still, without = (_ckpt(work / "synthesis" / m / "videos.pt") for m in ("best_still", "best_no_still"))
    assert with_still["names"] == without["names"]
    assert not torch.equal(with_still["videos"], without["videos"])  # the still guide moved the videos


def test_the_still_guide_is_needed_only_where_a_method_names_it(tmp_path):
    cfg = _cfg(tmp_path, *STILL)
    assert "classifier_still" in needed_checkpoints(cfg) and "classifier_still" in stage_checkpoints(cfg, "autoencoder")
    assert "classifier_robust" not in needed_checkpoints(cfg)
    assert "classifier_still" not in needed_checkpoints(_cfg(tmp_path, "synthesis.methods=[best]"))
    assert method_spec(cfg, "best_still")["classifiers"] == ["classifier_still", "classifier_vae", "classifier_tsm"]
    assert method_spec(cfg, "best_no_still")["classifiers"] == ["classifier_vae", "classifier_tsm"]
    assert method_spec(cfg, "best_still")["lr"] == method_spec(cfg, "best")["lr"]  # best's settings otherwise
