"""Seed 000's trial files (conf/experiment/) and the laptop grid scale (conf/grid/cpu.yaml).

The trials include base files (conf/experiment/base/) and say only what differs; the test pins every
trial's key values to what the files gave before they were factored (tests/utils/experiment_values.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from omegaconf import OmegaConf

from videogen3d.utils.compose import CONF_DIR

EXPECTED = json.loads((Path(__file__).parent / "experiment_values.json").read_text())
TRIALS = list(EXPECTED)


@pytest.fixture(scope="module")
def compose_trial():
    """``compose_trial("A-1", "grid=cpu")``: the trial's config, all from one Hydra initialisation (fast)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield lambda trial, *extra: compose("train", overrides=[f"experiment={trial}", *extra])
    GlobalHydra.instance().clear()


def _key_values(cfg, expected: dict) -> dict:
    """The same key values as ``experiment_values.json`` holds, read from a composed config."""
    c = OmegaConf.to_container(cfg, resolve=False)
    loss = cfg.loss
    return {
        "task_name": cfg.task_name,
        "tags": list(cfg.tags),
        "generator": {k: c["generator"].get(k) for k in expected["generator"]},
        "disc": {k: c["disc"].get(k) for k in expected["disc"]},
        "loss": {"reconstruction": (loss.get("reconstruction") or {}).get("_target_"),
                 "adversarial": (loss.get("adversarial") or {}).get("mode"),
                 "lambda_rec": loss.get("lambda_rec")},
        "dataset": {k: cfg.dataset[k] for k in expected["dataset"]},
        "max_epochs": cfg.trainer.max_epochs,
        "lr_generator": cfg.optim.generator.lr,
        "lr_disc": cfg.optim.disc.lr,
    }


def test_every_trial_has_a_pinned_value_set():
    files = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
    assert files == sorted(TRIALS)
    assert len([t for t in TRIALS if t.startswith("A-")]) == 20 and len([t for t in TRIALS if t.startswith("B-")]) == 15


@pytest.mark.parametrize("trial", TRIALS)
def test_trial_composes_to_its_pinned_values(trial, compose_trial):
    cfg = compose_trial(trial)
    assert cfg.experiment_id == trial
    assert _key_values(cfg, EXPECTED[trial]) == EXPECTED[trial]


@pytest.mark.parametrize("family", ["A", "B"])
def test_glob_picks_the_trials_and_never_the_base_files(family, compose_trial):
    options = GlobalHydra.instance().config_loader().get_group_options("experiment")  # as Hydra's glob sees them
    override = OverridesParser.create().parse_overrides([f"experiment=glob({family}-*)"])[0]
    picked = override.value().filter(options)
    assert sorted(picked) == sorted(t for t in TRIALS if t.startswith(family))


@pytest.mark.parametrize("trial", ["A-1", "A-10", "A-17", "B-5", "B-11"])
def test_grid_cpu_shrinks_the_scale_and_keeps_the_architecture(trial, compose_trial):
    seed, cpu = compose_trial(trial), compose_trial(trial, "grid=cpu")
    assert (cpu.dataset.frame_size, cpu.dataset.batch_size, cpu.trainer.max_epochs) == (32, 4, 4)
    assert cpu.dataset.source.num_sequences == 20 and cpu.dataset.train_clips_per_epoch == 80
    assert cpu.generator.max_channels == 32
    # what makes the trial the trial is kept: blocks, depth, norm, clip length, loss, learning rates
    for key in ("_target_", "conv_layers", "norm"):
        assert cpu.generator.get(key) == seed.generator.get(key)
    assert cpu.dataset.clip_len == seed.dataset.clip_len
    assert cpu.disc.get("_target_") == seed.disc.get("_target_")
    assert OmegaConf.to_container(cpu.loss) == OmegaConf.to_container(seed.loss)
    assert cpu.optim.generator.lr == seed.optim.generator.lr


@pytest.mark.slow
@pytest.mark.parametrize("trial", TRIALS)
def test_every_trial_takes_a_step_at_the_grid_scale(trial, compose_trial):
    """Each generator (and discriminator) takes the grid's 32x32 frames: forward, backward, finite."""
    cfg = compose_trial(trial, "grid=cpu")
    torch.manual_seed(0)
    gen = instantiate(cfg.generator)
    x = torch.rand(1, 3, cfg.dataset.clip_len, 32, 32) * 2 - 1
    y = gen(x)
    assert y.shape == x.shape
    loss = (y - x).square().mean()
    if cfg.disc.get("_target_") is not None:
        loss = loss + instantiate(cfg.disc)(y, x).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in gen.parameters() if p.requires_grad)
