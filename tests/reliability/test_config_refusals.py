"""Bad configs refused at start, naming the key (issue 14, item 4): negative or non-numeric weights,
rates, counts and seeds, and unknown top-level ``+keys``; nothing is rendered or trained first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from videogen3d.train import train
from videogen3d.utils.compose import REPO

GAN = ["disc=conv", "disc.ndf=4", "loss=mixed"]
# (overrides, the key the refusal must name)
BAD_CONFIGS = [
    ([*GAN, "loss.lambda_rec=-1"], "loss.lambda_rec"),
    ([*GAN, "loss.feature_matching=-0.5"], "loss.feature_matching"),
    (["loss.lambda_rec=abc"], "loss.lambda_rec"),
    (["optim.generator.lr=-1"], "optim.generator.lr"),
    (["optim.generator.lr=abc"], "optim.generator.lr"),
    (["optim.generator.lr=0"], "optim.generator.lr"),
    ([*GAN, "optim.disc.lr=-2e-4"], "optim.disc.lr"),
    (["seed=abc"], "seed"),
    (["seed=-3"], "seed"),
    (["seed=1.5"], "seed"),
    ([*GAN, "task.d_steps=-1"], "task.d_steps"),
    ([*GAN, "task.noise_channels=-1"], "task.noise_channels"),
    (["dataset.batch_size=0"], "dataset.batch_size"),
    (["dataset.batch_size=two"], "dataset.batch_size"),
    (["+foo=bar"], "foo"),
    (["++sed=1"], "sed"),
]


@pytest.mark.parametrize("overrides,key", BAD_CONFIGS, ids=[" ".join(o[-1:]) for o, _ in BAD_CONFIGS])
def test_a_bad_value_is_refused_before_any_work_naming_the_key(tmp_path, overrides, key):
    from hydra.core.global_hydra import GlobalHydra

    from videogen3d.utils.compose import compose_train

    data = tmp_path / "data"
    cfg = compose_train(overrides, tmp_path / "run", data)
    try:
        with pytest.raises(ValueError, match=rf"\b{key}\b") as refused:
            train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert not data.exists(), "data was rendered before the refusal"
    if key in ("foo", "sed"):
        assert "Valid top-level keys" in str(refused.value) and "seed" in str(refused.value)


def test_train_py_refuses_with_one_line_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), "seed=abc", f"paths.log_dir={tmp_path}",
                           f"paths.data_dir={tmp_path / 'data'}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "seed='abc'" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "data").exists()
