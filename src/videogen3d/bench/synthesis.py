"""synthesis: iterations/s of seed 003's pixel-space synthesis, the 11 targets in one batch.

The C3D and the tempCAE are built from ``conf/synth.yaml`` at ``--scale`` (``cpu``, ``paper``; their
widths and the clip geometry come from the scale) with random weights: the cost of an iteration does
not depend on what the networks learnt. A ``PixelSynthesis`` module (``videogen3d.tasks.synthesis``)
holds the 11 videos as its parameter; an iteration is its objective (eq. 8 for ``ours`` and
``ours_dae``, eq. 11 for ``comparison``), backward, the plain-GD step and the clamp. Two paths:
``raw`` (a Python loop over that module's own ``losses``/``objective``) and ``lightning``
(``Trainer.fit`` with ``max_steps``, as ``synth.py stage=synthesis`` runs it). The projection column
is the wall time of the seed's 50000 iterations at the measured rate (goal on one H100: <= 3 min at
the paper scale).

Every row also carries the iteration's FLOPs, counted by ``FlopCounterMode`` on ``meta`` tensors (shapes only, no
arithmetic, so the paper scale is counted in a second on any machine), the seed's 50000 iterations at an H100's dense
bf16 peak (a floor no run reaches) and the share of that peak that the goal's 3 minutes need; on a GPU, the MFU
measured (against the bf16 peak; the raw path runs fp32). ``--flops-only`` gives those columns alone, with no timing.

The module's interface is read defensively (keyword arguments it does not know are dropped), so the benchmark keeps
working while that code changes.
"""

from __future__ import annotations

import argparse
import inspect
import time

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from videogen3d.bench.common import compose, data_dir
from videogen3d.bench.flops import count_flops, mfu, peak_bf16_flops
from videogen3d.bench.runner import Report, median, sync, time_steps
from videogen3d.synthesis import stages as _stages  # noqa: F401  registers conf/synth.yaml's synth_conf resolver

METHODS = {"ours": ("ours", "full"), "comparison": ("comparison", None), "ours_dae": ("ours", "residual")}
SEED_ITERATIONS = 50000
GOAL_SECONDS = 180.0  # issue 11: the 11 videos' 50000 iterations in <= 3 min on one H100
H100 = "NVIDIA H100 80GB HBM3"  # the SXM part's name: its dense bf16 peak (videogen3d.bench.flops)
FLOP_COLUMNS = ("GFLOP/iteration", f"{SEED_ITERATIONS} iterations at the H100 peak (s)", "MFU for 3 min")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scales", default="cpu,paper", help="comma-separated conf/scale options")
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {list(METHODS)}")
    p.add_argument("--steps", type=int, default=5, help="timed iterations per method per scale")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations")
    p.add_argument("--paths", default="raw,lightning", help="raw and/or lightning")
    p.add_argument("--guides", default="frozen_copy", help="frozen_copy (what synthesis uses: batch norm folded, "
                   "NDHWC) and/or plain (the networks as built, in eval mode): the ratio of the two in one run")
    p.add_argument("--flops-only", action="store_true", help="count each iteration's FLOPs on meta tensors and "
                   "project them onto an H100's peak, without timing anything (the paper scale in seconds on a CPU)")


def _class_names() -> list[str]:
    try:
        from videogen3d.data.moving_objects import CLASS_NAMES

        return list(CLASS_NAMES)
    except ImportError:  # the module moved: 11 anonymous classes cost the same
        return [f"class{k}" for k in range(11)]


def _kwargs(fn, **kw) -> dict:
    names = inspect.signature(fn).parameters
    return {k: v for k, v in kw.items() if k in names}


def build_module(cfg, method: str, device: torch.device, iterations: int):
    from videogen3d.tasks.synthesis import PixelSynthesis

    src = cfg.dataset.source
    t, hw = int(src.clip_len), tuple(int(v) for v in src.frame_size)
    names = _class_names()
    targets = torch.eye(len(names))  # every class once: the 11 single-label targets of Table 1
    clf = instantiate(cfg.classifier.module.net, num_classes=len(names), clip_len=t, frame_size=hw)
    kind, prior = METHODS[method]
    cae = (instantiate(cfg.autoencoder.module.net, cs=int(cfg.autoencoder.module.cs), frame_size=hw)
           if kind == "ours" else None)
    s = cfg.synthesis
    kw = _kwargs(PixelSynthesis.__init__, method=kind, tempcae=cae, eta_c3d=s.eta_c3d, eta_tempcae=s.eta_tempcae,
                 eta_norm=s.eta_norm, optimizer=s.optimizer, lr=s.lr, iterations=iterations,
                 init_scale=s.init_scale, clamp=s.clamp, seed=int(s.seed), eta_scale=float(s.get("eta_scale", 1.0)),
                 eta_c3d_scale=s.get("eta_c3d_scale"), prior_gradient=prior or "full")
    return PixelSynthesis(clf, targets, t, hw, **kw).to(device), _shape(cfg), clf, cae


def _shape(cfg) -> str:
    """The batch of one iteration: the 11 single-label targets, ``11x3xTxHxW``."""
    src = cfg.dataset.source
    return f"{len(_class_names())}x3x{int(src.clip_len)}x{int(src.frame_size[0])}x{int(src.frame_size[1])}"


def iteration_flops(cfg, method: str) -> int:
    """FLOPs of one iteration of ``method`` (objective, backward) on the 11 videos, counted on ``meta`` tensors."""
    with torch.device("meta"):
        module = build_module(cfg, method, torch.device("meta"), 3)[0]
        return count_flops(lambda: module.objective(module.losses()).backward())


def _flop_columns(flops: int) -> dict:
    peak = peak_bf16_flops(H100)
    floor = SEED_ITERATIONS * flops / peak
    return dict(zip(FLOP_COLUMNS, (flops / 1e9, floor, floor / GOAL_SECONDS)))


def _plain_guides(module, clf, cae) -> None:
    """Put the networks as built (eval mode, no parameter gradients) in place of the module's frozen copies."""
    for net in (clf, cae):
        if net is not None:
            net.eval().requires_grad_(False)
    module.classifiers = torch.nn.ModuleList([clf])
    module.classifier = module.classifiers[0]
    if module.tempcae is not None:
        module.tempcae = cae


def _raw_rate(module, device: torch.device, steps: int, warmup: int) -> float:
    module.train()
    opt = module.configure_optimizers()
    opt = opt[0] if isinstance(opt, (list, tuple)) else opt

    def it() -> None:
        loss = module.objective(module.losses())
        opt.zero_grad()
        loss.backward()
        opt.step()
        module.on_train_batch_end(None, None, 0)  # the clamp

    return 1.0 / time_steps(it, steps, warmup, device)


class _Clock(pl.Callback):
    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())


def _lightning_rate(module, device: torch.device, steps: int, warmup: int, precision: str) -> float:
    clock = _Clock()
    trainer = pl.Trainer(accelerator=device.type, devices=1, precision=precision, max_steps=warmup + steps,
                         max_epochs=1, limit_val_batches=0, num_sanity_val_steps=0, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[clock])
    trainer.fit(module)
    s = clock.stamps[max(warmup - 1, 0):]
    return (len(s) - 1) / (s[-1] - s[0])


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.scales, args.steps, args.warmup = "tiny", 2, 1
    precision = "bf16-mixed" if device.type == "cuda" else "32-true"
    report = Report("synthesis", ["scale", "videos", "method", *FLOP_COLUMNS] if args.flops_only else
                    ["scale", "videos", "method", "path", "guides", "iterations/s", "ms/iteration",
                     f"{SEED_ITERATIONS} iterations (projected)", *FLOP_COLUMNS, "MFU"])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
        cfg = compose([f"scale={scale}", *args.overrides], data_dir(args.data_dir), config_name="synth")
        for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
            if method not in METHODS:
                raise ValueError(f"--methods: unknown method {method!r}; expected some of {list(METHODS)}")
            flops = iteration_flops(cfg, method)
            if args.flops_only:
                report.rows.append({"scale": scale, "videos": _shape(cfg), "method": method, **_flop_columns(flops)})
                continue
            for path, guides in [(p.strip(), g.strip()) for p in args.paths.split(",") if p.strip()
                                 for g in args.guides.split(",") if g.strip()]:
                if guides not in ("frozen_copy", "plain"):
                    raise ValueError(f"--guides: unknown {guides!r}; expected frozen_copy and/or plain")
                torch.manual_seed(0)
                module, shape, clf, cae = build_module(cfg, method, device, args.warmup + args.steps + 1)
                if guides == "plain":
                    _plain_guides(module, clf.to(device), cae.to(device) if cae is not None else None)
                if path == "raw":
                    rate = _raw_rate(module, device, args.steps, args.warmup)
                elif path == "lightning":
                    rate = _lightning_rate(module, device, args.steps, max(args.warmup, 1), precision)
                else:
                    raise ValueError(f"--paths: unknown path {path!r}; expected raw and/or lightning")
                secs = SEED_ITERATIONS / rate
                report.rows.append({"scale": scale, "videos": shape, "method": method, "path": path, "guides": guides,
                                    "iterations/s": rate, "ms/iteration": 1000 / rate,
                                    f"{SEED_ITERATIONS} iterations (projected)": _hms(secs),
                                    "projected_seconds": secs, "precision": precision if path == "lightning" else "32",
                                    **_flop_columns(flops), "MFU": mfu(flops, 1 / rate, name)})
    report.settings = {"scales": args.scales, "methods": args.methods, "steps": args.steps, "warmup": args.warmup,
                       "guides": args.guides, "flops_only": bool(args.flops_only),
                       "overrides": list(args.overrides)}
    report.notes.append("FLOPs: convolutions and matmuls of one iteration (FlopCounterMode on meta tensors); the peak "
                        f"column is {SEED_ITERATIONS} of them at {peak_bf16_flops(H100) / 1e12:.1f} TFLOP/s (an H100 SXM's dense "
                        "bf16 peak), the MFU column that peak's share which the goal's 3 minutes need; MFU: the "
                        "measured rate's share of this device's peak (CUDA only).")
    report.notes.append("Random network weights (the cost does not depend on them); one batch holds the 11 "
                        "single-label targets. Lightning rows use bf16-mixed on CUDA, fp32 on CPU.")
    return report


def _hms(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
