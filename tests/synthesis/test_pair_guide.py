"""The two-object C3D (classifier.pair, ours) as the guide of a multi-label video's composite term
(``pair_guide``): trained in stage autoencoder on composites of real clips and the clip VAE's reconstructions,
reused like every checkpoint, and seen by multi-label videos only."""


import pytest
import torch
from _synth_helpers import run_logged
from test_stages import _cfg

from videogen3d.synthesis.methods import method_spec, needed_checkpoints, stage_checkpoints
from videogen3d.synthesis.stages import run
from videogen3d.utils.config import ConfigError

PAIR = ["stage=all", "synthesis.methods=[best,best_pair]", "synthesis.multi_targets=[car_right+rocket_up]",
        "classifier.vae_domain.introspection.rounds=0"]


def _ckpt(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_the_pair_guide_is_trained_on_two_object_clips_and_moves_only_multi_label_videos(tmp_path, caplog):
    log = run_logged(caplog, _cfg(tmp_path, *PAIR))
    work = tmp_path / "work"
    pair = _ckpt(work / "checkpoints" / "classifier_pair.ckpt")
    hp = pair["hyper_parameters"]
    assert (hp["composite_mix"], hp["generator_mix"], hp["role"]) == (0.5, 0.5, "classifier_pair")
    assert set(pair["data_config"]["made_from"]) == {"classifier", "vae"}  # its init and the VAE it renders with
    init = _ckpt(work / "checkpoints" / "classifier.ckpt")["state_dict"]
    assert any(not torch.equal(init[n], t) for n, t in pair["state_dict"].items() if t.is_floating_point())
    best, paired = (_ckpt(work / "synthesis" / m / "videos.pt") for m in ("best", "best_pair"))
    assert best["names"] == paired["names"] and best["names"][-1] == "car_right+rocket_up"
    assert torch.equal(best["videos"][:-1], paired["videos"][:-1])  # single-label videos: the same bytes
    assert not torch.equal(best["videos"][-1], paired["videos"][-1])  # the two-object video was steered by it
    assert paired["settings"]["pair_guide"] == {"checkpoint": "classifier_pair", "composite_mix": 0.5,
                                                "generator_mix": 0.5}
    assert paired["settings"]["composite_weight"] == 0.5 and best["settings"]["composite_weight"] == 0.0
    assert best["settings"]["matte"] == paired["settings"]["matte"] == 0.05  # the config's best mattes its layers
    log = run_logged(caplog, _cfg(tmp_path, *PAIR))  # the same settings: reused, videos too
    assert "classifier_pair: reusing" in log and "synthesis best_pair: reusing" in log
    assert "classifier_vae: reusing" in log and "synthesis best: reusing" in log


def test_the_pair_guide_is_needed_only_where_a_method_names_it_and_its_ablation_drops_the_term(tmp_path):
    cfg = _cfg(tmp_path, *PAIR)
    assert {"classifier_pair", "classifier", "vae"} <= needed_checkpoints(cfg)
    assert "classifier_pair" in stage_checkpoints(cfg, "autoencoder")
    assert "classifier_pair" not in needed_checkpoints(_cfg(tmp_path, *PAIR[:-3], "synthesis.methods=[best]"))
    spec = method_spec(cfg, "best_pair")
    assert (spec["pair_guide"], spec["composite_weight"], spec["layers"]) == ("classifier_pair", 0.5, True)
    off = method_spec(_cfg(tmp_path, *PAIR, "+synthesis.method_defs.no_pair={base: best_pair, ablate: [pair]}"), "no_pair")
    best = method_spec(cfg, "best")
    assert (off["pair_guide"], off["composite_weight"]) == (None, 0.0)
    drop = ("ablate", "label")  # otherwise best itself
    assert {k: v for k, v in off.items() if k not in drop} == {k: v for k, v in best.items() if k not in drop}


@pytest.mark.parametrize("extra, match", [
    (["synthesis.method_defs.best_pair.pair_guide=classifier_pairs"],
     r"method_defs\.best_pair\.pair_guide='classifier_pairs'; expected one of .*classifier_pair"),
    (["synthesis.method_defs.best_pair.composite_weight=0.0"],
     r"method best_pair \(synthesis\.method_defs\.best_pair\): synthesis pair_guide reads the composite .* "
     r"composite_weight > 0 \(got generator True, layers=True, composite_weight=0\.0\)"),
    (["+synthesis.method_defs.best_pair.layers=false"], r"pair_guide .* needs a generator .* layers=False"),
])
def test_a_pair_guide_that_cannot_act_is_refused_before_anything_trains(tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        run(_cfg(tmp_path, *PAIR, *extra))
    assert not (tmp_path / "work" / "checkpoints").exists()
