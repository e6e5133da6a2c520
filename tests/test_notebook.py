"""The exploration notebook runs headless from top to bottom."""

from __future__ import annotations

from pathlib import Path
import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def test_explore_notebook_runs_headless(tmp_path):
    nb = nbformat.read(REPO / "notebooks" / "explore.ipynb", as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the data batch and the comparison strip
    text = "".join(o.get("text", "") for o in outputs)
    assert "val/psnr" in text


def test_trial_grid_notebook_reads_a_report_of_a_tiny_multirun(tmp_path, shared_data_dir, monkeypatch):
    from _tiny_grid import make_tiny_multirun
    from videogen3d.cli import main as cli_main

    grid = make_tiny_multirun(tmp_path / "multirun", shared_data_dir)
    assert cli_main(["report", str(grid), "--max-clips", "2", "--encoder-steps", "2"]) == 0  # -> grid/report
    monkeypatch.setenv("VG3D_REPORT", str(grid))  # the multirun folder: the notebook finds report/ in it
    nb = nbformat.read(REPO / "notebooks" / "trial_grid.ipynb", as_version=4)
    assert not [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]  # cleared in git
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # score per trial, score over epochs, contact sheet
    text = "".join(o.get("text", "") for o in outputs)
    assert f"report: {grid / 'report'} | 2 runs: 1 finished, 1 failed" in text
    assert "0: A-5: epoch 0 " in text and ", epoch 1 " in text  # the finished run's two validation epochs
    assert "1: A-5: no validation epoch" in text
    table = "".join(o["data"].get("text/markdown", "") for o in outputs if "data" in o)
    assert "| A-5 | finished | unet4 |" in table and "| A-5 | failed | unet4 |" in table
