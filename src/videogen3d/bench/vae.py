"""vae: a training step of each clip VAE of ``conf/synth/vae`` (the clip VAE, the sprite-and-path one) at a scale.

Each option is built as ``synth.py`` builds it (``conf/synth.yaml`` with ``scale=<scale> vae=<option>``; the module
node instantiated with the scale's clip geometry) with random weights, and a step is its task's loss
(:meth:`~videogen3d.tasks.vae.ClipVAEModule.training_step`: the squared error, the KL term and, for the sprite VAE, the
path's tracking term), backward and the optimizer's step, on a batch of random clips of the scale's batch size (the
cost does not depend on the pixels). The options run interleaved (``--rounds``), so a busy neighbour slows them alike,
and each row gives the median step time, its ratio to the first option, and one fit's steps at that rate (the scale's
``vae.epochs`` x its clips per epoch; data loading and validation not included).
"""

from __future__ import annotations

import argparse
import math

import torch
from hydra.utils import instantiate

from videogen3d.bench.common import compose, data_dir
from videogen3d.bench.runner import Report, interleaved, median, time_steps
from videogen3d.synthesis import stages as _stages  # noqa: F401  registers conf/synth.yaml's synth_conf resolver


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", help="a conf/synth/scale option")
    p.add_argument("--vaes", default="clip_vae,sprite_vae", help="comma-separated conf/synth/vae options")
    p.add_argument("--steps", type=int, default=20, help="timed steps per option per round")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per option per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every option in turn")


def _fit_steps(cfg) -> int:
    """One fit's optimizer steps: ``vae.epochs`` x the training clips of its own share per class / the batch size."""
    per_class = cfg.vae.get("clips_per_class") or cfg.dataset.source.clips_per_class
    train = round(int(per_class) * 11 * (1 - 2 * float(cfg.dataset.get("val_fraction", 0.1))))
    return int(cfg.vae.epochs) * math.ceil(train / int(cfg.dataset.batch_size))


def _step(cfg, device: torch.device):
    """A closure that runs one training step of the VAE module ``cfg.vae.module`` builds."""
    src = cfg.dataset.source
    t, hw = int(src.clip_len), [int(v) for v in src.frame_size]
    torch.manual_seed(0)
    module = instantiate(cfg.vae.module, clip_len=t, frame_size=hw, net={"clip_len": t, "frame_size": hw},
                         _convert_="all").to(device).train()
    module.log = lambda *a, **k: None  # no trainer: the figures are the step's
    opt = module.optimizer_factory(params=module.parameters())
    x = torch.rand(int(cfg.dataset.batch_size), 3, t, *hw, device=device) * 2 - 1

    def step() -> None:
        opt.zero_grad()
        module.training_step({"target": x}, 0).backward()
        opt.step()

    return step, type(module.net).__name__


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.scale, args.steps, args.warmup, args.rounds = "tiny", 2, 1, 1
    options = [v.strip() for v in args.vaes.split(",") if v.strip()]
    if not options:
        raise ValueError("--vaes: name at least one conf/synth/vae option")
    built = {}
    for option in options:
        cfg = compose([f"scale={args.scale}", f"vae={option}", *args.overrides], data_dir(args.data_dir),
                      config_name="synth")
        step, net = _step(cfg, device)
        built[option] = (step, net, _fit_steps(cfg), cfg)
    times = interleaved({k: (lambda s=v[0]: time_steps(s, args.steps, args.warmup, device)) for k, v in built.items()},
                        args.rounds)
    first = median(times[options[0]])
    report = Report("vae", ["scale", "vae", "network", "batch", "ms/step", f"ratio to {options[0]}", "fit steps",
                            "fit at this rate (s)"])
    for option in options:
        _, net, fit_steps, cfg = built[option]
        sec = median(times[option])
        report.rows.append({"scale": args.scale, "vae": option, "network": net, "batch": int(cfg.dataset.batch_size),
                            "ms/step": 1000 * sec, f"ratio to {options[0]}": sec / first, "fit steps": fit_steps,
                            "fit at this rate (s)": fit_steps * sec, "rounds_ms": [1000 * s for s in times[option]]})
    report.settings = {"scale": args.scale, "vaes": options, "steps": args.steps, "warmup": args.warmup,
                       "rounds": args.rounds, "overrides": list(args.overrides)}
    report.notes.append("Random weights and random clips; the step is the task's loss, backward and the optimizer's "
                        "step, with no data loading, logging or validation, so a fit's wall time is longer.")
    return report
