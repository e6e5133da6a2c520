"""sweep: how the train step's cost grows with clip length, frame size and batch (the ``step`` benchmark).

One generator family and mode (default: the quick start's ``unet4``, fp32); from a base geometry
(the composed config's ``dataset.batch_size``, ``clip_len``, ``frame_size``) each axis is varied
alone over its list. Reported: ms/step, clips/s, FLOPs per step and the time relative to the base:
a cost that follows the FLOPs grows linearly in T, quadratically in the frame side and linearly
in the batch; small geometries fall short of that when fixed per-layer costs dominate.
"""

from __future__ import annotations

import argparse

import torch

from videogen3d.bench.common import compose, data_dir
from videogen3d.bench.runner import Report, median, time_steps
from videogen3d.bench.step import Mode, build_step

AXES = {"clip_len": "dataset.clip_len", "frame_size": "dataset.frame_size", "batch": "dataset.batch_size"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", default="unet4", help="the conf/generator option")
    p.add_argument("--mode", default="fp32", help="as in the step benchmark, e.g. fp32 or bf16+channels_last_3d")
    p.add_argument("--clip-lens", default="5,9,17,33")
    p.add_argument("--frame-sizes", default="32,64,128")
    p.add_argument("--batches", default="1,2,4,8")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--compile-backend", default="inductor")


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.clip_lens, args.frame_sizes, args.batches, args.steps, args.warmup = "4,8", "16,32", "1,2", 1, 1
    base = compose([f"generator={args.family}", *args.overrides], data_dir(args.data_dir), tiny=args.tiny)
    ds = base.dataset
    base_geo = {"clip_len": int(ds.clip_len), "frame_size": int(ds.frame_size), "batch": int(ds.batch_size)}
    lists = {"clip_len": args.clip_lens, "frame_size": args.frame_sizes, "batch": args.batches}
    mode = Mode.parse(args.mode)
    report = Report("sweep", ["axis", "value", "geometry (BxCxTxHxW)", "ms/step", "clips/s", "GFLOP/step",
                              "x base time", "x base FLOPs"])
    cases: list[tuple[str, object, dict[str, int]]] = [("base", "-", dict(base_geo))]
    for axis, text in lists.items():
        for v in [int(x) for x in text.split(",") if x.strip()]:
            if v != base_geo[axis]:
                cases.append((axis, v, {**base_geo, axis: v}))
    ref_t = ref_f = None
    for axis, value, geo in cases:
        cfg = compose([f"generator={args.family}", *args.overrides, *(f"{AXES[k]}={v}" for k, v in geo.items())],
                      data_dir(args.data_dir), tiny=args.tiny)
        case = build_step(cfg, device, mode, compile_backend=args.compile_backend)
        flops = case.flops
        sec = median([time_steps(case.step, args.steps, args.warmup, device)])
        ref_t, ref_f = ref_t or sec, ref_f or max(flops, 1)
        report.rows.append({"axis": axis, "value": value,
                            "geometry (BxCxTxHxW)": f"{geo['batch']}x3x{geo['clip_len']}x{geo['frame_size']}x{geo['frame_size']}",
                            "ms/step": 1000 * sec, "clips/s": geo["batch"] / sec, "GFLOP/step": flops / 1e9,
                            "x base time": sec / ref_t, "x base FLOPs": flops / ref_f})
    report.settings = {"family": args.family, "mode": args.mode, "base": base_geo, "steps": args.steps,
                       "warmup": args.warmup, "overrides": list(args.overrides)}
    return report
