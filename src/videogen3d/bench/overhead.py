"""overhead: Lightning's cost over a raw PyTorch loop doing the same translator step and the same GAN step.

Both sides use one composed config: the same ``VideoDataModule`` (same seed, so the same clips), the
same networks (same initial weights), the same optimizers and the same step. The raw translator
step is ``TranslatorModule.training_step`` by hand (forward, loss, the finite check, zero_grad,
backward, step); the raw GAN step repeats ``ConditionalGANModule.training_step`` (D step then G step,
the other network's ``requires_grad`` off as Lightning's ``toggled_optimizer`` does, gradient norms
and finite checks included). The Lightning side is ``Trainer.fit`` as ``train()`` builds it (CSV
logger, ``log_every_n_steps`` of the config) without checkpoints, validation or progress bar; its
steps are timed between ``on_train_batch_end`` calls after ``--warmup`` batches. Rounds alternate
raw and Lightning runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pytorch_lightning as pl
import torch

from videogen3d.bench.common import build_datamodule, compose, data_dir, to_device
from videogen3d.bench.runner import Report, median, sync
from videogen3d.utils.task_config import build_task

TASKS = {"translator": [], "gan": ["disc=conv", "loss=mixed"]}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", default="translator,gan", help=f"comma-separated, from {sorted(TASKS)}")
    p.add_argument("--steps", type=int, default=20, help="timed batches per run")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches per run")
    p.add_argument("--rounds", type=int, default=3, help="raw/Lightning pairs (medians are reported)")


class _BatchClock(pl.Callback):
    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())


def _lightning_rate(cfg, device: torch.device, steps: int, warmup: int) -> float:
    pl.seed_everything(0, workers=True, verbose=False)
    dm = build_datamodule(cfg)
    module = build_task(cfg, dm)
    clock = _BatchClock()
    logger = pl.loggers.CSVLogger(tempfile.mkdtemp(prefix="videogen3d-bench-"), name="overhead")
    trainer = pl.Trainer(
        accelerator=device.type, devices=1, precision=cfg.trainer.precision, max_epochs=1,
        limit_train_batches=warmup + steps, limit_val_batches=0, num_sanity_val_steps=0, logger=logger,
        log_every_n_steps=cfg.trainer.log_every_n_steps, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[clock], benchmark=cfg.trainer.get("benchmark", False),
    )
    trainer.fit(module, datamodule=dm)
    s = clock.stamps[warmup - 1 :] if warmup > 0 else clock.stamps
    return (len(s) - 1) / (s[-1] - s[0])


def _raw_translator(module, opts):
    (opt,) = opts

    def step(batch):
        cond, target = batch["cond"], batch["target"]
        fake = module.generator(cond)
        loss = module.reconstruction(fake.float(), target.float())
        if not torch.isfinite(loss):  # the module's check (a host sync, as there)
            raise FloatingPointError("non-finite loss")
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _raw_gan(module, opts):
    from videogen3d.tasks.gan import grad_norm

    opt_g, opt_d = opts
    hp, adv, g, d = module.hparams, module.adversarial, module.generator, module.disc

    def finite(*values):
        for v in values:
            if not torch.isfinite(v).all():
                raise FloatingPointError("non-finite GAN term")

    def toggle(net_on, net_off):
        for p in net_off.parameters():
            p.requires_grad_(False)
        for p in net_on.parameters():
            p.requires_grad_(True)

    def update(opt, loss, params):
        opt.zero_grad()
        loss.backward()
        finite(grad_norm(params))
        opt.step()

    def step(batch):
        cond, real = batch["cond"], batch["target"]
        fake = g(cond)
        toggle(d, g)
        lr, lf = d(real, cond), d(fake.detach(), cond)
        d_loss = 0.5 * (adv(lr, True) + adv(lf, False))
        finite(d_loss)
        update(opt_d, d_loss, d.parameters())
        adv.score(lr), adv.score(lf), adv.accuracy(lr, True), adv.accuracy(lf, False)
        toggle(g, d)
        feats = d.features(fake, cond)
        g_adv = adv(feats[-1], True, for_discriminator=False)
        g_rec = module.reconstruction(fake.float(), real.float()) if module.reconstruction is not None else 0.0
        g_loss = g_adv + hp.lambda_rec * g_rec
        finite(g_adv, g_loss)
        update(opt_g, g_loss, g.parameters())
        for p in d.parameters():
            p.requires_grad_(True)

    return step


def _raw_rate(cfg, device: torch.device, steps: int, warmup: int, task: str) -> float:
    pl.seed_everything(0, workers=True, verbose=False)
    dm = build_datamodule(cfg)
    module = build_task(cfg, dm).to(device).train()
    conf = module.configure_optimizers()
    opts = [conf["optimizer"]] if isinstance(conf, dict) else list(conf[0] if isinstance(conf, tuple) else conf)
    step = (_raw_gan if task == "gan" else _raw_translator)(module, opts)
    bf16 = str(cfg.trainer.precision).startswith("bf16")
    stamps: list[float] = []
    loader = dm.train_dataloader()
    for i, batch in enumerate(loader):
        if i >= warmup + steps:
            break
        batch = dm.on_after_batch_transfer(to_device(batch, device), 0)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            step(batch)
        sync(device)
        stamps.append(time.perf_counter())
    s = stamps[warmup - 1 :] if warmup > 0 else stamps
    return (len(s) - 1) / (s[-1] - s[0])


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.steps, args.warmup, args.rounds = 3, 1, 1
    report = Report("overhead", ["task", "raw PyTorch steps/s", "Lightning steps/s", "Lightning overhead %"])
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks:
        if task not in TASKS:
            raise ValueError(f"--tasks: unknown task {task!r}; expected some of {sorted(TASKS)}")
        overrides = [*TASKS[task], *args.overrides, f"dataset.train_clips_per_epoch={(args.warmup + args.steps + 1) * 64}"]
        cfg = compose(overrides, data_dir(args.data_dir), tiny=args.tiny)
        if device.type == "cuda" and "trainer.precision" not in " ".join(args.overrides):
            cfg.trainer.precision = "bf16-mixed"
        raw, lit = [], []
        for _ in range(max(args.rounds, 1)):
            raw.append(_raw_rate(cfg, device, args.steps, args.warmup, task))
            lit.append(_lightning_rate(cfg, device, args.steps, args.warmup))
        r, l_ = median(raw), median(lit)
        report.rows.append({"task": task, "raw PyTorch steps/s": r, "Lightning steps/s": l_,
                            "Lightning overhead %": 100 * (r / l_ - 1), "per_round_raw": raw, "per_round_lightning": lit,
                            "generator": cfg.generator._target_.rsplit(".", 1)[-1],
                            "disc": (cfg.get("disc") or {}).get("_target_"), "precision": str(cfg.trainer.precision),
                            "geometry": f"{cfg.dataset.batch_size}x3x{cfg.dataset.clip_len}x{cfg.dataset.frame_size}"})
    report.settings = {"steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
                       "overrides": list(args.overrides), "tasks": tasks}
    report.notes.append("overhead % = raw steps/s over Lightning steps/s - 1 (medians of alternating runs); "
                        "a negative figure is noise. The goal is <= 3 %.")
    return report
