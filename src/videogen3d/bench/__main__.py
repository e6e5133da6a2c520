"""``python -m videogen3d.bench <name> [options] [key=value ...]``: run one benchmark.

Trailing ``key=value`` / ``group=option`` words are Hydra overrides of the composed ``conf/train.yaml``
(``conf/synth.yaml`` for ``synthesis``), e.g. ``generator=resnet_v4 dataset.frame_size=128``.
``--tiny`` shrinks everything to the test suite's geometry (what CI runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

import torch

from videogen3d.bench import BENCHMARKS
from videogen3d.bench.runner import finish, resolve_device


def _parser(names: Sequence[str] = BENCHMARKS) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m videogen3d.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="name", required=True, metavar="NAME", help=", ".join(BENCHMARKS))
    for name in names:
        mod = importlib.import_module(f"videogen3d.bench.{name}")
        q = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        q.add_argument("--out", default="logs/bench", help="folder for <name>.json (default logs/bench)")
        q.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:N]")
        q.add_argument("--tiny", action="store_true", help="test-suite geometry and few steps (CI)")
        q.add_argument("--data-dir", help="data cache (default: VIDEOGEN3D_DATA or ./data)")
        q.add_argument("--threads", type=int, help="torch.set_num_threads before anything runs")
        q.add_argument("--interop-threads", type=int, help="torch.set_num_interop_threads (once per process)")
        mod.add_arguments(q)
        q.add_argument("overrides", nargs="*", help="Hydra overrides of the composed config")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # only the named benchmark's module is imported (each pulls in its own heavy dependencies)
    args = _parser([argv[0]] if argv and argv[0] in BENCHMARKS else BENCHMARKS).parse_args(argv)
    if args.interop_threads:
        torch.set_num_interop_threads(args.interop_threads)
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    device = resolve_device(args.device)
    torch.set_float32_matmul_precision("high")  # as train() does
    mod = importlib.import_module(f"videogen3d.bench.{args.name}")
    report = mod.run(args, device)
    finish(report, args.out, device, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
