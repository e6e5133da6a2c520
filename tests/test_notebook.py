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
