"""The ``videogen3d report`` subcommand (parser and handler), added to ``videogen3d.cli`` in two lines."""

from __future__ import annotations

import argparse


def add_report_parser(sub) -> None:
    r = sub.add_parser("report", help="one table, one figure and a contact sheet for a multirun or run folders")
    r.add_argument("runs", nargs="+", metavar="RUN_OR_MULTIRUN_DIR")
    r.add_argument("--out", help="where the report goes (default: <first folder>/report)")
    r.add_argument("--no-quality", action="store_true",
                   help="skip generating validation clips (no sharpness, Fréchet or contact-sheet images)")
    r.add_argument("--max-clips", type=int, default=64, help="validation clips per run for the quality columns")
    r.add_argument("--encoder-steps", type=int, default=400,
                   help="training steps of the domain feature network for the Fréchet column (cached)")
    r.add_argument("--wandb", action="store_true", help="also log the grid as a wandb.Table (offline without a key)")
    r.add_argument("--project", default="videogen3d", help="the W&B project of --wandb")


def run_report(a: argparse.Namespace) -> int:
    from pathlib import Path

    from videogen3d.report.build import build_report, markdown

    out = Path(a.out) if a.out else Path(a.runs[0]) / "report"
    result = build_report(a.runs, out, quality=not a.no_quality, max_clips=a.max_clips,
                          encoder_steps=a.encoder_steps)
    print(markdown(result["rows"]))
    for key, path in result["files"].items():
        print(f"{key:>14}: {path}")
    if a.wandb:
        from videogen3d.report.wandb_table import log_grid_table

        print(f"{'wandb':>14}: {log_grid_table(result['rows'], out, result['files'], a.project)}")
    return 0
