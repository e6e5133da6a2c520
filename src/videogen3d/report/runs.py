"""Find the runs of a multirun (or any run folders) and read one table row per run.

A run folder is one that holds ``.hydra/config.yaml`` (``train.py`` writes it before anything else,
so a job that failed at once still has it). Its status comes from ``summary.json`` (written by
``videogen3d.train.train``): ``finished``, ``stopped`` (ended before ``max_epochs``), ``failed``
(with the error), or ``incomplete`` when the file still says ``running`` (the job was killed or is
still going). Metrics of an unfinished run are its last validation row in ``csv/metrics.csv``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

SUMMARY_FILE = "summary.json"
VAL_KEYS = ("val/mse", "val/psnr", "val/ssim", "val/temporal_error")
BASELINE_KEYS = ("baseline/identity_psnr", "baseline/mean_frame_psnr")


def find_runs(paths: list[str | os.PathLike]) -> list[Path]:
    """Every run folder at or under ``paths`` (a multirun folder, run folders, or a mix), in job order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"report: no such run or multirun folder: {str(p)!r}")
        if (p / ".hydra" / "config.yaml").is_file():
            found.append(p)
            continue
        inner = sorted({c.parent.parent for c in p.rglob(".hydra/config.yaml")}, key=_job_order)
        if not inner:
            raise FileNotFoundError(f"report: {str(p)!r} holds no run (no .hydra/config.yaml under it)")
        found.extend(inner)
    return list(dict.fromkeys(found))


def _job_order(path: Path) -> tuple:
    head = path.name.split("_", 1)[0]
    return (str(path.parent), int(head) if head.isdigit() else math.inf, path.name)


def _load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def read_metrics_csv(path: Path) -> list[dict[str, float]]:
    """Rows of a Lightning ``metrics.csv`` with their non-empty numeric cells."""
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            vals = {}
            for k, v in row.items():
                try:
                    vals[k] = float(v)
                except (TypeError, ValueError):
                    continue
            rows.append(vals)
    return rows


def val_history(run: Path) -> list[dict[str, float]]:
    """``[{epoch, val/mse, val/psnr, ...}]``: the validation rows of a run's metrics CSV, one per epoch."""
    return [r for r in read_metrics_csv(run / "csv" / "metrics.csv") if "val/mse" in r and "epoch" in r]


def latest_media(run: Path, suffix: str) -> Path | None:
    files = sorted((run / "media").glob(f"epoch*{suffix}"))
    return files[-1] if files else None


def _count(config: dict, key: str) -> Any:
    node = config.get(key) or {}
    return node.get("conv_layers") if isinstance(node, dict) else None


def read_run(run: Path) -> dict[str, Any]:
    """One table row: identity, architecture, status, wall time, final val metrics and baselines."""
    config = _load_yaml(run / ".hydra" / "config.yaml")
    choices = (_load_yaml(run / ".hydra" / "hydra.yaml").get("hydra") or {}).get("runtime", {}).get("choices", {})
    summary = json.loads((run / SUMMARY_FILE).read_text()) if (run / SUMMARY_FILE).is_file() else {}
    results = summary.get("results") or {}
    history = val_history(run)
    status = summary.get("status", "no summary")
    if status == "running":
        status = "incomplete"
    exp = config.get("experiment_id") or choices.get("experiment") or ""
    row: dict[str, Any] = {
        "run": run.name,
        "experiment_id": exp or config.get("task_name", ""),
        "family": exp[0] if exp[:1] in ("A", "B") and exp[1:2] == "-" else "other",
        "status": status,
        "generator": choices.get("generator", ""),
        "disc": choices.get("disc", ""),
        "loss": choices.get("loss", ""),
        "conv_layers": _count(config, "generator"),
        "params_generator": results.get("params/generator"),
        "params_disc": results.get("params/disc"),
        "epochs": summary.get("epochs_done", int(history[-1]["epoch"]) + 1 if history else 0),
        "max_epochs": (config.get("trainer") or {}).get("max_epochs"),
        "frame_size": (config.get("dataset") or {}).get("frame_size"),
        "wall_s": summary.get("wall_s"),
    }
    last = history[-1] if history else {}
    for key in VAL_KEYS:
        row[key.replace("/", "_")] = results.get(key, last.get(key))
    for key in BASELINE_KEYS:
        row[key.replace("/", "_")] = results.get(key)
    row["error"] = summary.get("error", "")
    row["path"] = str(run)
    return row
