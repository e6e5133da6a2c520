"""A resumed run continues in its own folder and metrics file (issue 12, item 5).

``python train.py`` stopped by ``trainer.max_steps`` mid-epoch, then resumed twice, through ``train.py``
as a user runs it: with ``ckpt_path=<run>/checkpoints/last.ckpt`` and with ``ckpt_path=last``. One run
folder holds all three parts: one ``metrics.csv`` whose training rows cover every step once, in order,
the earlier parts' ``.hydra`` files kept, and ``hydra.run.dir=...`` still forks a resume elsewhere.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from videogen3d.utils.compose import REPO, TINY

STEPS_PER_EPOCH = 4  # 8 clips, batch 2
ARGS = [*[o for o in TINY if not o.startswith("trainer.max_epochs")], "baselines=false",
        "callbacks.sample_media=null", "callbacks.lr_monitor=null", "trainer.limit_val_batches=1",
        f"dataset.train_clips_per_epoch={2 * STEPS_PER_EPOCH}"]


def _train(root: Path, *extra: str, rc: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIDEOGEN3D_LOGS": str(root / "logs"), "VIDEOGEN3D_DATA": str(root / "data"),
           "PYTHONPATH": str(REPO / "src"), "VIDEOGEN3D_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *ARGS, *extra], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "csv" / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_resume_continues_in_its_run_folder_and_metrics_file(tmp_path):
    runs = tmp_path / "logs" / "train" / "runs"
    _train(tmp_path, "trainer.max_epochs=2", "trainer.max_steps=3")  # stops mid-epoch 0
    (run,) = runs.iterdir()
    first = _rows(run)
    assert [int(r["step"]) for r in first if r["train/loss"]] == [0, 1, 2]

    _train(tmp_path, "trainer.max_epochs=2", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}")
    assert list(runs.iterdir()) == [run]  # no second folder
    _train(tmp_path, "trainer.max_epochs=3", "ckpt_path=last")  # the newest last.ckpt: this run's
    assert list(runs.iterdir()) == [run]

    rows = _rows(run)
    assert rows[: len(first)] == [{k: r.get(k, "") for k in rows[0]} for r in first]  # part 1's rows kept as they were
    train_steps = [int(r["step"]) for r in rows if r["train/loss"]]
    assert train_steps == list(range(3 * STEPS_PER_EPOCH))  # every step once, in order, across the three parts
    val_epochs = [int(r["epoch"]) for r in rows if r["val/psnr"]]
    assert val_epochs == [0, 1, 2]
    finals = [int(float(r["final/global_step"])) for r in rows if r.get("final/global_step")]
    assert finals == [3, 2 * STEPS_PER_EPOCH, 3 * STEPS_PER_EPOCH]  # each part's end, in order

    hydra = run / ".hydra"
    assert "trainer.max_steps=3" in yaml.safe_load((hydra / "part1" / "overrides.yaml").read_text())
    assert any(o.startswith("ckpt_path=/") for o in yaml.safe_load((hydra / "part2" / "overrides.yaml").read_text()))
    assert "ckpt_path=last" in yaml.safe_load((hydra / "overrides.yaml").read_text())
    log = (run / "train.log").read_text()  # one log file, the three parts' ends in it
    assert [int(v) for v in re.findall(r"final final/global_step = (\d+)", log)] == [3, 8, 12]
    assert sorted(p.name for p in (run / "checkpoints").glob("last*.ckpt")) == ["last.ckpt"]

    # a fresh run into that folder stops before Hydra writes its .hydra files there (exit status 1)
    config, metrics = (hydra / "config.yaml").read_text(), (run / "csv" / "metrics.csv").read_text()
    proc = _train(tmp_path, "seed=7", "hydra.run.dir=" + str(run), rc=1)
    assert "already holds a run" in proc.stderr and "ckpt_path=" in proc.stderr
    assert (hydra / "config.yaml").read_text() == config and (run / "csv" / "metrics.csv").read_text() == metrics


@pytest.mark.slow  # two more train.py runs; the in-place resume above is the CI one
def test_hydra_run_dir_forks_a_resume_into_another_folder(tmp_path):
    runs = tmp_path / "logs" / "train" / "runs"
    _train(tmp_path, "trainer.max_epochs=1", "hydra.run.dir=" + str(runs / "a"))
    before = (runs / "a" / "csv" / "metrics.csv").read_text()
    _train(tmp_path, "trainer.max_epochs=2", f"ckpt_path={runs / 'a' / 'checkpoints' / 'last.ckpt'}",
           "hydra.run.dir=" + str(runs / "b"))
    assert (runs / "a" / "csv" / "metrics.csv").read_text() == before  # the source run is left as it was
    assert [int(r["epoch"]) for r in _rows(runs / "b") if r["val/psnr"]] == [1]
    assert not (runs / "a" / ".hydra" / "part1").exists()


@pytest.mark.parametrize("ckpt", ["none", "elsewhere"])
def test_resume_dir_keeps_the_new_folder_for_fresh_runs_and_loose_checkpoints(tmp_path, ckpt):
    from videogen3d.utils.run_dir import resume_dir

    loose = tmp_path / "weights.ckpt"
    loose.write_bytes(b"x")
    value = None if ckpt == "none" else str(loose)
    assert resume_dir(value, tmp_path / "logs", "train", "NEW") == "NEW"
    assert resume_dir("last", tmp_path / "logs", "train", "NEW") == "NEW"  # none found: check_config says so


def test_run_dir_of_train_and_synth_configs(tmp_path):
    """conf/hydra is shared: synth.py's config (no ckpt_path) keeps its new folder; train.py's follows ckpt_path."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import videogen3d.utils.run_dir  # noqa: F401  vg3d.resume_dir: train.py imports it (videogen3d.train),
    import videogen3d.synthesis.stages  # noqa: F401  synth.py through Hydra's RunDirGuard; synth_conf resolver
    from videogen3d.utils.compose import CONF_DIR

    run = tmp_path / "train" / "runs" / "r1"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("task_name: train\n")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"x")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            synth = compose("synth", overrides=[f"paths.log_dir={tmp_path}"], return_hydra_config=True)
            fresh = compose("train", overrides=[f"paths.log_dir={tmp_path}"], return_hydra_config=True)
            resumed = compose("train", overrides=[f"paths.log_dir={tmp_path}", "ckpt_path=last"],
                              return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    assert Path(synth.hydra.run.dir).parent == tmp_path / "synth" / "runs"
    assert Path(fresh.hydra.run.dir).parent == tmp_path / "train" / "runs" and Path(fresh.hydra.run.dir) != run
    assert Path(resumed.hydra.run.dir) == run
