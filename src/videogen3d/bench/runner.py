"""The shared runner: the machine record, side-by-side timing, a markdown table and a JSON file.

Every benchmark returns a :class:`Report`; :func:`finish` prints its rows as a markdown table and
writes ``<out>/<name>.json`` (atomically) with the machine (CPU model, cores, load, torch and
Lightning versions, the device), the exact command and the figures. Ratios are meant to be read
within one report: the paths a benchmark compares run interleaved in one process (``rounds``), so a
busy neighbour on a shared machine slows them alike.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from videogen3d.utils.io import atomic_path

__all__ = ["Report", "machine_info", "sync", "time_steps", "interleaved", "finish", "resolve_device", "markdown"]


@dataclass
class Report:
    """A benchmark's figures: ``rows`` (one dict per markdown row, ``columns`` in order) and ``extra``."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is refused by name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA device is available here; use --device cpu")
    return device


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on."""
    import pytorch_lightning as pl

    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(), "python": platform.python_version(),
        "torch": torch.__version__, "lightning": pl.__version__, "device": str(device),
        "platform": platform.platform(),
    }
    if hasattr(os, "getloadavg"):
        info["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)  # >cores: the figures were shared
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], Any], steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``step`` over ``steps`` calls after ``warmup`` untimed ones (device-synchronised)."""
    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - t0) / max(steps, 1)


def interleaved(paths: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call every path once per round, in turn (A B C A B C ...); each returns one figure."""
    out: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(max(rounds, 1)):
        for key, fn in paths.items():
            out[key].append(float(fn()))
    return out


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return "n/a" if value is None else str(value)


def markdown(report: Report) -> str:
    lines = ["| " + " | ".join(report.columns) + " |", "|" + "---|" * len(report.columns)]
    for row in report.rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in report.columns) + " |")
    return "\n".join(lines)


def command_line(argv: Sequence[str] | None = None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    return "python -m videogen3d.bench " + shlex.join(argv)


def finish(report: Report, out_dir: str | os.PathLike, device: torch.device, argv: Sequence[str] | None = None,
           quiet: bool = False) -> Path:
    """Print the markdown table and write ``<out_dir>/<name>.json`` (and a copy under ``history/``)."""
    payload = {
        "benchmark": report.name,
        "command": command_line(argv),
        "machine": machine_info(device),
        "settings": report.settings,
        "columns": report.columns,
        "figures": report.rows,
        "extra": report.extra,
        "notes": report.notes,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = Path(out_dir) / f"{report.name}.json"
    text = json.dumps(payload, indent=2, default=str) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    # every run also kept under history/, so a later run of the same benchmark does not erase it
    stamp = payload["finished_utc"].replace(":", "").replace("-", "")
    with atomic_path(Path(out_dir) / "history" / f"{report.name}-{stamp}.json") as tmp:
        tmp.write_text(text)
    if not quiet:
        print(f"\n### {report.name}: `{payload['command']}`\n")
        print(markdown(report))
        for note in report.notes:
            print(f"\n{note}")
        print(f"\nmachine: {payload['machine']['cpu']}, {payload['machine']['cores']} cores, "
              f"torch {payload['machine']['torch']}, lightning {payload['machine']['lightning']}, "
              f"device {payload['machine'].get('device_name', device)}; JSON: {path}")
    return path
