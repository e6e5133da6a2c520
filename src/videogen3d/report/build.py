"""Assemble the report: rows from the run folders, quality columns, tables and figures on disk."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from videogen3d.report.figures import contact_sheet, history_figure, score_figure
from videogen3d.report.quality import quality_columns
from videogen3d.report.runs import find_runs, read_run, val_history
from videogen3d.utils.io import atomic_path

log = logging.getLogger(__name__)

# (column, header in the markdown table, format)
COLUMNS = [
    ("experiment_id", "trial", "{}"), ("status", "status", "{}"), ("generator", "generator", "{}"),
    ("disc", "disc", "{}"), ("loss", "loss", "{}"), ("conv_layers", "conv layers", "{}"),
    ("params_generator", "G params", "{:,.0f}"), ("params_disc", "D params", "{:,.0f}"),
    ("epochs", "epochs", "{}"), ("wall_s", "wall (s)", "{:.0f}"),
    ("val_mse", "val MSE", "{:.4f}"), ("val_psnr", "PSNR (dB)", "{:.2f}"), ("val_ssim", "SSIM", "{:.3f}"),
    ("val_temporal_error", "temporal err.", "{:.4f}"), ("sharpness_ratio", "sharpness (G/target)", "{:.2f}"),
    ("frechet", "Fréchet (domain AE)", "{:.3f}"),
    ("baseline_identity_psnr", "identity PSNR", "{:.2f}"), ("baseline_mean_frame_psnr", "mean-frame PSNR", "{:.2f}"),
]


def _cell(value: Any, fmt: str) -> str:
    if value is None or value == "":
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k), f) for k, _, f in COLUMNS) + " |")
    errors = [r for r in rows if r.get("error")]
    if errors:
        lines += ["", "Errors:"] + [f"- {r['experiment_id']} (`{r['run']}`): {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def trial_order(row: dict[str, Any]) -> tuple:
    """Rows by trial family and number (``A-2`` before ``A-10``); runs without a trial id after, in job order."""
    found = re.fullmatch(r"([A-Za-z]+)-(\d+)", str(row.get("experiment_id") or ""))
    return (0, found.group(1), int(found.group(2))) if found else (1, "", 0)


def build_report(paths: list[str | os.PathLike], out: str | os.PathLike, quality: bool = True,
                 max_clips: int = 64, encoder_steps: int = 400) -> dict[str, Any]:
    """Read every run under ``paths``, write the tables and figures to ``out``; returns rows and file paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = find_runs(paths)
    rows, clips = [], {}
    for run in runs:
        row = read_run(run)
        if quality and row["status"] != "failed":
            try:
                cols, got = quality_columns(run, out, max_clips, encoder_steps)
                row.update(cols)
                clips[row["path"]] = got
            except (FileNotFoundError, ValueError, RuntimeError) as err:  # e.g. killed before a checkpoint
                log.warning("report: no quality columns for %s: %s", run, err)
                row["quality_error"] = str(err)
        rows.append(row)
    rows.sort(key=trial_order)  # ..., A-10 (Hydra's glob runs them, ...)
    files = {"markdown": out / "report.md", "csv": out / "report.csv", "json": out / "report.json",
             "score": out / "score.png", "history": out / "history.png", "contact_sheet": out / "contact_sheet.png"}
    with atomic_path(files["markdown"]) as tmp:
        tmp.write_text(markdown(rows))
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(files["csv"]) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    with atomic_path(files["json"]) as tmp:
        tmp.write_text(json.dumps(rows, indent=1, default=str))
    score_figure(rows, files["score"])
    history_figure(histories(rows), files["history"])
    contact_sheet(rows, clips, files["contact_sheet"])
    return {"rows": rows, "files": {k: str(v) for k, v in files.items()}}


def run_label(row: dict[str, Any]) -> str:
    """``<job number>: <trial>`` for a multirun job (``0_A-5_seed42``), else the trial and the run folder."""
    head = str(row["run"]).split("_", 1)[0]
    return f"{head}: {row['experiment_id']}" if head.isdigit() else f"{row['experiment_id']} ({row['run']})"


def histories(rows: list[dict[str, Any]], score: str = "val_mse") -> dict[str, list[tuple[float, float]]]:
    """``{run label: [(epoch, score), ...]}`` from each run's ``csv/metrics.csv`` (``val_mse`` -> ``val/mse``)."""
    key = score.replace("_", "/", 1)
    return {run_label(r): [(h["epoch"], h[key]) for h in val_history(Path(r["path"])) if key in h] for r in rows}


def load_report(path: str | os.PathLike | None = None,
                logs: str | os.PathLike = "logs") -> tuple[Path, list[dict[str, Any]]]:
    """``(report folder, rows)`` of a report written by ``videogen3d report``.

    ``path`` may be the report folder, its ``report.json``, or a multirun folder holding ``report/``;
    ``None`` or ``""``: the newest ``<logs>/multiruns/*/report``. A folder without a report is named
    in the error with the command that makes one.
    """
    if not path:
        found = sorted(Path(logs).glob("multiruns/*/report/report.json"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise FileNotFoundError(f"no report under {str(Path(logs) / 'multiruns')!r}; make one with "
                                    f"`videogen3d report {Path(logs) / 'multiruns' / '<date>_<time>'}`")
        path = found[-1]
    path = Path(path)
    for candidate in (path, path / "report.json", path / "report" / "report.json"):
        if candidate.is_file():
            return candidate.parent, json.loads(candidate.read_text())
    raise FileNotFoundError(f"{str(path)!r} holds no report.json (nor report/report.json); make one with "
                            f"`videogen3d report {path}`")
