"""``videogen3d report`` on a tiny multirun with a failed job, in the default (CI) suite.

The multirun is made in seconds (tests/_tiny_grid.py): one real two-epoch run and one job that failed
at once, as ``train.py -m`` leaves them; test_report.py's slow tests make the same through Hydra.
"""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image

from _tiny_grid import make_tiny_multirun
from videogen3d.cli import main as cli_main
from videogen3d.report.build import histories


@pytest.fixture(scope="module")
def grid(tmp_path_factory, shared_data_dir):
    return make_tiny_multirun(tmp_path_factory.mktemp("grid") / "multirun", shared_data_dir)


def test_report_lists_the_failed_job_beside_the_finished_one(grid, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli_main(["report", str(grid), "--out", str(out), "--max-clips", "2", "--encoder-steps", "2"]) == 0
    rows = json.loads((out / "report.json").read_text())
    assert [(r["run"][:2], r["status"]) for r in rows] == [("0_", "finished"), ("1_", "failed")]
    good, bad = rows
    assert good["experiment_id"] == bad["experiment_id"] == "A-5" and good["generator"] == "unet4"
    assert good["epochs"] == 2 and 0 < good["val_mse"] < 1 and good["val_psnr"] > 0
    assert good["params_generator"] > 1000 and good["baseline_identity_psnr"] > 0
    assert good["sharpness_ratio"] > 0 and good["frechet"] >= 0 and not good["error"]
    assert "optim.generator.lr=-1" in bad["error"] and bad["val_mse"] is None and bad["epochs"] == 0
    assert "quality_error" not in bad  # a failed run is not asked for clips

    with (out / "report.csv").open() as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["finished", "failed"]
    md = (out / "report.md").read_text()
    assert "| A-5 | finished | unet4 |" in md and "| A-5 | failed | unet4 |" in md
    assert "Errors:" in md and "optim.generator.lr=-1" in md.split("Errors:")[1]
    with Image.open(out / "contact_sheet.png") as sheet:  # a row per run, the failed one included
        assert sheet.size[1] >= 16 + 2 * 96
    for name in ("score.png", "history.png"):
        with Image.open(out / name) as img:
            assert img.size[0] > 100 and img.size[1] > 40
    assert histories(rows) == {"0: A-5": [(0.0, pytest.approx(good["val_mse"], rel=0.5)),
                                          (1.0, pytest.approx(good["val_mse"]))], "1: A-5": []}
    printed = capsys.readouterr().out
    assert "| A-5 | failed |" in printed and "report.json" in printed


def test_report_of_run_folders_keeps_a_killed_run_as_incomplete(grid, tmp_path):
    """A job killed while running leaves ``summary.json`` at ``running``: listed as incomplete with its last
    validation values from the metrics CSV, never dropped."""
    killed = tmp_path / "killed"
    good = grid / "0_A-5_seed42"
    for sub in (".hydra", "csv"):
        (killed / sub).mkdir(parents=True)
        for f in (good / sub).iterdir():
            (killed / sub / f.name).write_bytes(f.read_bytes())
    (killed / "summary.json").write_text(json.dumps({"status": "running", "experiment_id": "A-5"}))
    out = tmp_path / "report"
    assert cli_main(["report", str(good), str(killed), "--out", str(out), "--no-quality"]) == 0
    rows = json.loads((out / "report.json").read_text())
    assert [r["status"] for r in rows] == ["finished", "incomplete"]
    assert rows[1]["val_mse"] == pytest.approx(rows[0]["val_mse"]) and rows[1]["epochs"] == 2
