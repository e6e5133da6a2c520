"""``videogen3d report`` on a tiny real multirun with one failed job; the W&B table offline; sweep files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from videogen3d.cli import main as cli_main
from videogen3d.utils.compose import REPO, TINY

pytestmark = pytest.mark.slow  # one tiny multirun (two jobs) through train.py, then the report


@pytest.fixture(scope="module")
def tiny_multirun(tmp_path_factory) -> Path:
    """``python train.py -m optim.generator.lr=1e-3,-1``: job 0 trains, job 1 fails (check_config refuses lr -1)."""
    root = tmp_path_factory.mktemp("grid")
    env = {**os.environ, "VIDEOGEN3D_LOGS": str(root / "logs"), "VIDEOGEN3D_DATA": str(root / "data"),
           "PYTHONPATH": str(REPO / "src"), "WANDB_MODE": "offline"}
    shrink = [o for o in TINY if not o.startswith(("callbacks.", "logger="))]
    cmd = [sys.executable, str(REPO / "train.py"), "-m", "experiment=A-5", "optim.generator.lr=1e-3,-1",
           *shrink, "dataset.train_clips_per_epoch=4", "callbacks.progress_bar=null",
           "callbacks.model_summary=null", "hydra.sweep.dir=" + str(root / "logs" / "multiruns" / "tiny")]
    proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0, "the sweep should report its failed job"
    return root / "logs" / "multiruns" / "tiny"


def test_multirun_jobs_are_named_by_trial_and_seed(tiny_multirun):
    jobs = sorted(p.name for p in tiny_multirun.iterdir() if p.is_dir())
    assert [j.split("_", 3)[:3] for j in jobs] == [["0", "A-5", "seed42"], ["1", "A-5", "seed42"]]
    assert all(len(j) < 120 for j in jobs) and jobs[0] != jobs[1]  # long override lists are cut and hashed
    ok, bad = (json.loads((tiny_multirun / j / "summary.json").read_text()) for j in jobs)
    assert ok["status"] == "finished" and ok["results"]["val/psnr"] > 0
    assert bad["status"] == "failed" and "optim.generator.lr=-1" in bad["error"]
    log = (tiny_multirun / jobs[0] / "train.log").read_text()
    assert "baseline/identity_psnr" in log  # the baselines reach the run's log file, not only the terminal
    header = (tiny_multirun / jobs[0] / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "baseline/mean_frame_psnr" in header and "final/val/psnr" in header


def test_report_lists_every_run_failed_ones_included(tiny_multirun, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli_main(["report", str(tiny_multirun), "--out", str(out), "--max-clips", "4",
                     "--encoder-steps", "3"]) == 0
    rows = json.loads((out / "report.json").read_text())
    assert [r["status"] for r in rows] == ["finished", "failed"]
    good, bad = rows
    assert good["experiment_id"] == "A-5" and good["generator"] == "unet4" and good["loss"] == "mse"
    assert good["conv_layers"] == 17 and good["params_generator"] > 1000 and good["epochs"] == 1
    assert 0 < good["val_mse"] < 1 and good["baseline_identity_psnr"] > 0
    assert good["sharpness_ratio"] > 0 and good["frechet"] >= 0
    assert "optim.generator.lr=-1" in bad["error"] and bad["val_mse"] is None
    with (out / "report.csv").open() as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["finished", "failed"]
    md = (out / "report.md").read_text()
    assert "| A-5 | finished |" in md and "| A-5 | failed |" in md and "Errors:" in md
    for name in ("score.png", "contact_sheet.png"):
        with Image.open(out / name) as img:
            assert img.size[0] > 100 and img.size[1] > 40
    assert "failed" in capsys.readouterr().out


def test_report_refuses_a_folder_without_runs(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path), "--no-quality"]) == 1
    assert "holds no run" in capsys.readouterr().err


def test_report_logs_a_wandb_table_offline(tiny_multirun, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    out = tmp_path / "report"
    assert cli_main(["report", str(tiny_multirun), "--out", str(out), "--no-quality", "--wandb"]) == 0
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    table = list(runs[0].rglob("grid_*.table.json"))
    assert table, "the grid table is written with the offline run"
    data = json.loads(table[0].read_text())
    assert "video" in data["columns"] and "strip" in data["columns"] and len(data["data"]) == 2
    status = data["columns"].index("status")
    assert sorted(r[status] for r in data["data"]) == ["failed", "finished"]
    cells = {r[status]: (r[data["columns"].index("video")], r[data["columns"].index("strip")]) for r in data["data"]}
    assert cells["finished"] == ("Video", "Image") and cells["failed"] == (None, None)
