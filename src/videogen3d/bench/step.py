"""step: train-step clips/s per generator family for fp32, bf16-mixed, channels_last_3d and torch.compile.

One step is what ``TranslatorModule.training_step`` does under Lightning's automatic optimisation,
without Lightning (``overhead`` measures that part): the generator built from its ``conf/generator``
YAML, the configured reconstruction loss and optimizer, ``zero_grad``, forward (under
``torch.autocast(bfloat16)`` for bf16, Lightning's ``bf16-mixed``), loss in fp32, backward, step.
Inputs are random clips of the config's ``dataset`` geometry (``clip_len``, ``frame_size``,
``batch_size``), made once on the device: the data path is ``loader``'s business.

Modes combine ``bf16``, ``channels_last_3d`` (model and input in NDHWC) and ``compile``
(``torch.compile``; its compile time is reported apart). Reported per row: clips/s, ms/step, the
speed-up over fp32 eager, FLOPs per step (``FlopCounterMode``: convs and matmuls, forward and
backward), achieved GFLOP/s, MFU on a CUDA device with a known dense bf16 peak, and peak memory
(CUDA allocator; not measured on CPU). ``--threads-list 1,2`` repeats each mode under
``torch.set_num_threads(k)``. Rows of one family are timed interleaved over ``--rounds``.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from videogen3d.bench.common import compose, data_dir
from videogen3d.bench.flops import count_flops, mfu, peak_bf16_flops
from videogen3d.bench.runner import Report, median, sync, time_steps
from videogen3d.utils.precision import TOLERANCE, cpu_bf16_conv3d_weight_grad_error, mkldnn_on

FAMILIES = ("bottleneck", "unet4", "unet", "resnet_v1", "resnet_v2", "resnet_v3", "resnet_v4", "resnet_v5_a")
CPU_MODES = ("fp32", "bf16", "channels_last_3d", "compile")
GPU_MODES = ("fp32", "bf16", "bf16+channels_last_3d", "bf16+compile", "bf16+channels_last_3d+compile")
OPTIONS = ("fp32", "bf16", "channels_last_3d", "compile")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated conf/generator options")
    p.add_argument("--modes", help=f"comma-separated, options joined by '+' from {OPTIONS} (default: "
                                   f"{','.join(CPU_MODES)} on CPU, {','.join(GPU_MODES)} on CUDA)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per mode per round")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per mode (compile happens here)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (medians are reported)")
    p.add_argument("--threads-list", help="comma-separated torch.set_num_threads values to compare")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend (tests use aot_eager)")


@dataclass
class Mode:
    bf16: bool = False
    channels_last: bool = False
    compile: bool = False

    @classmethod
    def parse(cls, text: str) -> Mode:
        parts = [p.strip() for p in text.split("+") if p.strip()]
        bad = [p for p in parts if p not in OPTIONS]
        if bad or not parts:
            raise ValueError(f"step mode {text!r}: unknown option(s) {bad}; combine {OPTIONS} with '+'")
        return cls(bf16="bf16" in parts, channels_last="channels_last_3d" in parts, compile="compile" in parts)


@dataclass
class StepCase:
    """A ready-to-time training step and what it needs for the figures."""

    step: Callable[[], None]
    batch: int
    flops: int
    compile_s: float | None = None


def build_step(cfg: DictConfig, device: torch.device, mode: Mode, net: torch.nn.Module | None = None,
               compile_backend: str = "inductor") -> StepCase:
    """The training step of ``cfg.generator`` on random clips of ``cfg.dataset``'s geometry."""
    ds = cfg.dataset
    b, t = int(ds.batch_size), int(ds.clip_len)
    h, w = (ds.frame_size, ds.frame_size) if isinstance(ds.frame_size, int) else tuple(ds.frame_size)
    net = copy.deepcopy(net) if net is not None else instantiate(cfg.generator)
    net = net.to(device).train()
    fmt = torch.channels_last_3d if mode.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    g = torch.Generator().manual_seed(0)
    cond = (torch.rand(b, 3, t, h, w, generator=g) * 2 - 1).to(device).contiguous(memory_format=fmt)
    target = (torch.rand(b, 3, t, h, w, generator=g) * 2 - 1).to(device).contiguous(memory_format=fmt)
    loss_fn = instantiate(cfg.loss.reconstruction)
    opt = instantiate(cfg.optim.generator)(params=net.parameters())
    model = torch.compile(net, backend=compile_backend) if mode.compile else net

    def forward_backward() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode.bf16):
            fake = model(cond)
        loss_fn(fake.float(), target).backward()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        forward_backward()
        opt.step()

    flops = count_flops(forward_backward) if not mode.compile else 0  # counted on the eager model
    opt.zero_grad(set_to_none=True)
    compile_s = None
    if mode.compile:
        t0 = time.perf_counter()
        step()
        sync(device)
        compile_s = time.perf_counter() - t0
    return StepCase(step, b, flops, compile_s)


def _modes(args: argparse.Namespace, device: torch.device) -> list[str]:
    if args.modes:
        return [m.strip() for m in args.modes.split(",") if m.strip()]
    return list(GPU_MODES if device.type == "cuda" else CPU_MODES)


def measure_family(family: str, args: argparse.Namespace, device: torch.device, overrides: list[str],
                   modes: list[str], threads: list[int | None]) -> list[dict]:
    """Rows for one generator family: every mode x thread count, timed interleaved."""
    cfg = compose([f"generator={family}", *overrides], data_dir(args.data_dir), tiny=args.tiny)
    base = instantiate(cfg.generator)
    params = sum(p.numel() for p in base.parameters())
    cases, flops = {}, 0
    for m in modes:
        cases[m] = build_step(cfg, device, Mode.parse(m), base, args.compile_backend)
        flops = flops or cases[m].flops
    keys = [(m, k) for m in modes for k in threads]
    default_threads = torch.get_num_threads()
    times: dict[tuple[str, int | None], list[float]] = {key: [] for key in keys}
    peaks: dict[tuple[str, int | None], float | None] = {}
    for key in keys:  # warm-up (and, for compile, the first compiled steps) outside the timed rounds
        torch.set_num_threads(key[1] or default_threads)
        time_steps(cases[key[0]].step, 0, args.warmup, device)
    for _ in range(max(args.rounds, 1)):
        for key in keys:
            torch.set_num_threads(key[1] or default_threads)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            times[key].append(time_steps(cases[key[0]].step, args.steps, 0, device))
            peaks[key] = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    torch.set_num_threads(default_threads)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    ref = median(times[keys[0]])
    ds = cfg.dataset
    rows = []
    for key in keys:
        sec = median(times[key])
        rows.append({
            "family": family, "mode": key[0], "threads": key[1] or default_threads,
            "clips/s": cases[key[0]].batch / sec, "ms/step": 1000 * sec, f"x {keys[0][0]}": ref / sec,
            "GFLOP/step": flops / 1e9, "GFLOP/s": flops / sec / 1e9,
            "MFU": mfu(flops, sec, name) if "bf16" in key[0] else None,
            "peak MiB": peaks.get(key), "compile s": cases[key[0]].compile_s,
            "params_M": params / 1e6, "per_round_s": times[key],
            "geometry": f"{ds.batch_size}x3x{ds.clip_len}x{ds.frame_size}",
        })
    return rows


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.steps, args.warmup, args.rounds = 2, 1, 1
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    modes = _modes(args, device)
    threads = [int(k) for k in args.threads_list.split(",")] if args.threads_list else [None]
    report = Report("step", ["family", "mode", "threads", "clips/s", "ms/step", f"x {modes[0]}", "GFLOP/step",
                             "GFLOP/s", "MFU", "peak MiB", "compile s"])
    for family in families:
        report.rows.extend(measure_family(family, args, device, list(args.overrides), modes, threads))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    report.settings = {"families": families, "modes": modes, "threads": threads, "steps": args.steps,
                       "warmup": args.warmup, "rounds": args.rounds, "compile_backend": args.compile_backend,
                       "overrides": list(args.overrides), "geometry": report.rows[0]["geometry"] if report.rows else None}
    report.extra = {"device_name": name, "dense_bf16_peak_flops": peak_bf16_flops(name)}
    report.notes.append("MFU only for bf16 rows on a CUDA device with a known dense bf16 peak; peak memory only "
                        "on CUDA; FLOPs from FlopCounterMode over forward + backward (convs/matmuls).")
    if device.type == "cpu" and any("bf16" in m for m in modes) and mkldnn_on():
        err = cpu_bf16_conv3d_weight_grad_error()
        if err > TOLERANCE:
            report.notes.append(f"bf16 rows time oneDNN kernels that get this CPU's bf16 Conv3d weight gradients wrong "
                                f"for 2-frame clips (relative error {err:.3g}; videogen3d.utils.precision): speed "
                                f"only, and the trainers refuse bf16 on this CPU.")
    return report
