"""The W&B sweep files in sweeps/: W&B's sweep-config schema, and a command that composes in Hydra."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from videogen3d.utils.compose import CONF_DIR, REPO

SWEEPS = sorted((REPO / "sweeps").glob("*.yaml"))
METHODS = {"grid", "random", "bayes"}
MACROS = {"${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}", "${args_no_boolean_flags}",
          "${args_json}", "${args_json_file}"}


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_sweep_file_follows_wandb_schema_and_composes(path: Path):
    sweep = yaml.safe_load(path.read_text())
    # W&B's sweep config: program, method, parameters (each with values / value / distribution), metric
    assert (REPO / sweep["program"]).is_file()
    assert sweep["method"] in METHODS
    assert sweep["metric"]["goal"] in ("minimize", "maximize") and sweep["metric"]["name"]
    params = sweep["parameters"]
    assert params and all(set(p) & {"values", "value", "distribution"} for p in params.values())
    command = sweep["command"]
    assert "${args_no_hyphens}" in command  # Hydra takes key=value, not --key=value
    fixed = [c for c in command if c not in MACROS]
    assert all("=" in c for c in fixed), fixed
    # the agent's command line for the first and last point of the grid: valid Hydra overrides
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for pick in (0, -1):
            args = [f"{k}={(v['values'][pick] if 'values' in v else v['value'])}" for k, v in params.items()]
            cfg = compose("train", overrides=[*fixed, *args])
            assert cfg.experiment_id == params["experiment"]["values"][pick]
    GlobalHydra.instance().clear()
