"""starvation: the fraction of the training loop's time spent waiting for data, from Lightning's SimpleProfiler.

``Trainer.fit`` runs the real ``VideoDataModule`` and task (``build_task``: the checks and ``instantiate(cfg.task)``, as ``train()`` does) with
``SimpleProfiler``. Per batch, *data* is ``[_TrainingEpochLoop].train_dataloader_next`` (the loader)
plus ``[Strategy]...batch_to_device`` (the transfer and ``on_after_batch_transfer``: float conversion,
and with ``bank_on_device`` the clip cut); *step* is ``run_training_batch``. Reported:
data / (data + step) over the batches after ``--warmup``. On a GPU the host waits at the step's sync
(the finite-loss check), so host-side data time is time the GPU has no work queued.

Presets: ``quickstart`` (the default config) and ``resnet_v4`` (``generator=resnet_v4`` at
128x128x16, the issue's size); trailing overrides apply to every preset (e.g. smaller frames on a CPU).
"""

from __future__ import annotations

import argparse
import tempfile

import pytorch_lightning as pl
import torch
from pytorch_lightning.profilers import SimpleProfiler

from videogen3d.bench.common import build_datamodule, compose, data_dir
from videogen3d.bench.runner import Report
from videogen3d.utils.task_config import build_task

PRESETS = {"quickstart": [], "resnet_v4": ["generator=resnet_v4", "dataset.frame_size=128", "dataset.clip_len=16"]}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--presets", default="quickstart,resnet_v4", help=f"comma-separated, from {sorted(PRESETS)}")
    p.add_argument("--steps", type=int, default=20, help="profiled batches after warm-up")
    p.add_argument("--warmup", type=int, default=3, help="batches left out of the fraction")
    p.add_argument("--bank-on-device", choices=("auto", "true", "false"), default="auto",
                   help="dataset.bank_on_device (auto: true on CUDA, as trainer=gpu sets it)")


def measure(cfg, device: torch.device, steps: int, warmup: int) -> dict:
    pl.seed_everything(0, workers=True, verbose=False)
    dm = build_datamodule(cfg)
    module = build_task(cfg, dm)
    profiler = SimpleProfiler(dirpath=tempfile.mkdtemp(prefix="videogen3d-bench-"), filename="profile")
    trainer = pl.Trainer(accelerator=device.type, devices=1, precision=cfg.trainer.precision, max_epochs=1,
                         limit_train_batches=warmup + steps, limit_val_batches=0, num_sanity_val_steps=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, profiler=profiler, benchmark=cfg.trainer.get("benchmark", False))
    trainer.fit(module, datamodule=dm)
    rec = profiler.recorded_durations
    transfer_key = next((k for k in rec if k.startswith("[Strategy]") and k.endswith(".batch_to_device")), None)
    nxt = rec["[_TrainingEpochLoop].train_dataloader_next"]
    transfer = rec[transfer_key] if transfer_key else [0.0] * len(nxt)
    batch = rec["run_training_batch"]
    data = sum(nxt[warmup:]) + sum(transfer[warmup:])
    busy = sum(batch[warmup:])
    epoch = sum(rec["run_training_epoch"])
    return {"data ms/batch": 1000 * data / max(len(batch) - warmup, 1),
            "step ms/batch": 1000 * busy / max(len(batch) - warmup, 1),
            "data wait %": 100 * data / (data + busy),
            "epoch data %": 100 * (sum(nxt) + sum(transfer)) / epoch,
            "batches": len(batch) - warmup}


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.steps, args.warmup = 3, 1
    bank = device.type == "cuda" if args.bank_on_device == "auto" else args.bank_on_device == "true"
    report = Report("starvation", ["preset", "geometry", "bank_on_device", "data ms/batch", "step ms/batch",
                                   "data wait %"])
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    for name in presets:
        if name not in PRESETS:
            raise ValueError(f"--presets: unknown preset {name!r}; expected some of {sorted(PRESETS)}")
        preset = [o for o in PRESETS[name] if not (args.tiny and o.startswith("dataset."))]  # tiny: its geometry
        overrides = [*preset, *args.overrides, f"dataset.bank_on_device={str(bank).lower()}",
                     f"dataset.train_clips_per_epoch={(args.warmup + args.steps + 1) * 64}"]
        cfg = compose(overrides, data_dir(args.data_dir), tiny=args.tiny)
        if device.type == "cuda" and "trainer.precision" not in " ".join(args.overrides):
            cfg.trainer.precision = "bf16-mixed"
        ds = cfg.dataset
        row = {"preset": name, "geometry": f"{ds.batch_size}x3x{ds.clip_len}x{ds.frame_size}",
               "bank_on_device": bank, "generator": cfg.generator._target_.rsplit(".", 1)[-1],
               "precision": str(cfg.trainer.precision)}
        row.update(measure(cfg, device, args.steps, args.warmup))
        report.rows.append(row)
    report.settings = {"steps": args.steps, "warmup": args.warmup, "presets": presets,
                       "overrides": list(args.overrides)}
    report.notes.append("data wait % = (loader next + batch_to_device) / (that + run_training_batch), "
                        "SimpleProfiler, batches after warm-up. The goal is <= 2 %.")
    return report
