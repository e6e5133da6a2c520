"""overhead: Lightning's cost over a raw PyTorch loop doing the same translator step and the same GAN step.

Both sides use one composed config: the same ``VideoDataModule`` (same seed, so the same clips), the
same networks (same initial weights), the same optimizers and the same step. The raw translator
step is ``TranslatorModule.training_step`` by hand (forward, loss, the finite check, zero_grad,
backward, step); the raw GAN step repeats ``ConditionalGANModule.training_step`` (``d_steps`` D steps
then ``g_steps`` G steps, the other network's ``requires_grad`` off as Lightning's ``toggled_optimizer``
does, every loss term of the config, gradient norms, clipping and finite checks included). Both raw
loops also do the logging the Lightning side does: every ``trainer.log_every_n_steps`` batches the
batch's figures (for the GAN, D's scores and accuracies made then, as the module makes them) become
floats in a CSV row. The Lightning side is ``Trainer.fit`` as ``train()`` builds it (CSV logger,
``log_every_n_steps`` of the config) without checkpoints, validation or progress bar; its steps are timed
between ``on_train_batch_end`` calls after ``--warmup`` batches. Rounds alternate raw and Lightning runs.
Each side is timed by the wall clock (steps/s) and by the process's CPU time (ms/step).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

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
        self.stamps: list[tuple[float, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        self.stamps.append((time.perf_counter(), time.process_time()))


def _rates(stamps: list[tuple[float, float]], warmup: int) -> tuple[float, float]:
    """Steps/s (wall clock) and process CPU ms per step between the stamps after ``warmup`` steps."""
    s = stamps[warmup - 1 :] if warmup > 0 else stamps
    n = len(s) - 1
    return n / (s[-1][0] - s[0][0]), 1000 * (s[-1][1] - s[0][1]) / n


def _lightning_rate(cfg, device: torch.device, steps: int, warmup: int) -> tuple[float, float]:
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
    return _rates(clock.stamps, warmup)


class _RawLog:
    """What the Lightning side's CSV logger does, by hand: every ``every`` batches, the batch's figures
    (tensors made by ``figures()``) as floats, one CSV row (written when the run ends)."""

    def __init__(self, every: int) -> None:
        self.every, self.rows, self.batch = max(int(every), 1), [], 0

    def step(self, figures) -> None:
        self.batch += 1
        if self.batch % self.every == 0:
            self.rows.append({"step": self.batch, **{k: float(v) for k, v in figures().items()}})

    def close(self) -> None:
        keys = sorted({k for r in self.rows for k in r})
        with open(Path(tempfile.mkdtemp(prefix="videogen3d-bench-")) / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(self.rows)


def _raw_translator(module, opts, log: _RawLog):
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
        log.step(lambda: {"train/loss": loss.detach()})

    return step


def _raw_gan(module, opts, log: _RawLog):
    """``ConditionalGANModule.training_step`` by hand: ``d_steps`` D updates then ``g_steps`` G updates, every
    loss term of the config (adversarial, reconstruction, feature matching), the finite checks, gradient norms
    and clipping; D's scores and accuracies made on logging steps, as the module makes them."""
    from videogen3d.losses.gan import feature_matching_loss
    from videogen3d.tasks.gan import grad_norm

    opt_g, opt_d = opts
    hp, adv, g, d = module.hparams, module.adversarial, module.generator, module.disc

    def finite(*values):
        for v in values:
            if not torch.isfinite(v).all():
                raise FloatingPointError("non-finite GAN term")

    def toggle(net_on, net_off):  # what Lightning's toggled_optimizer does
        for p in net_off.parameters():
            p.requires_grad_(False)
        for p in net_on.parameters():
            p.requires_grad_(True)

    def update(opt, loss, params):
        opt.zero_grad()
        loss.backward()
        norm = grad_norm(params)
        finite(norm)
        if hp.gradient_clip_val:
            torch.nn.utils.clip_grad_norm_(params, hp.gradient_clip_val)
        opt.step()
        return norm

    def step(batch):
        cond, real = batch["cond"], batch["target"]
        with torch.set_grad_enabled(hp.g_steps > 0):
            fake = g(cond)
        out = {}
        for _ in range(hp.d_steps):
            toggle(d, g)
            lr, lf = d(real, cond), d(fake.detach(), cond)
            d_loss = 0.5 * (adv(lr, True) + adv(lf, False))
            finite(d_loss)
            out.update(d_loss=d_loss, grad_norm_d=update(opt_d, d_loss, list(d.parameters())))
            logits = (lr.detach(), lf.detach())
        for i in range(hp.g_steps):
            toggle(g, d)
            f = fake if i == 0 else g(cond)
            feats = d.features(f, cond)
            terms = {"g_adv": adv(feats[-1], True, for_discriminator=False)}
            if module.reconstruction is not None and hp.lambda_rec > 0:
                terms["g_rec"] = module.reconstruction(f.float(), real.float())
            if hp.feature_matching > 0:
                with torch.no_grad():
                    feats_real = d.features(real, cond)
                terms["g_fm"] = feature_matching_loss(feats_real[:-1], feats[:-1])
            g_loss = (terms["g_adv"] + hp.lambda_rec * terms.get("g_rec", 0.0)
                      + hp.feature_matching * terms.get("g_fm", 0.0))
            finite(*terms.values(), g_loss)
            out.update(terms, g_loss=g_loss, loss=g_loss, grad_norm_g=update(opt_g, g_loss, list(g.parameters())))
        for p in d.parameters():
            p.requires_grad_(True)

        def figures():
            fig = {f"train/{k}": v.detach() for k, v in out.items()}
            if hp.d_steps:
                fig.update({"train/d_real": adv.score(logits[0]), "train/d_fake": adv.score(logits[1]),
                            "train/d_acc_real": adv.accuracy(logits[0], True),
                            "train/d_acc_fake": adv.accuracy(logits[1], False)})
            return fig

        log.step(figures)

    return step


def _raw_rate(cfg, device: torch.device, steps: int, warmup: int, task: str) -> tuple[float, float]:
    pl.seed_everything(0, workers=True, verbose=False)
    dm = build_datamodule(cfg)
    module = build_task(cfg, dm).to(device).train()
    conf = module.configure_optimizers()
    opts = [conf["optimizer"]] if isinstance(conf, dict) else list(conf[0] if isinstance(conf, tuple) else conf)
    log = _RawLog(cfg.trainer.log_every_n_steps)
    step = (_raw_gan if task == "gan" else _raw_translator)(module, opts, log)
    bf16 = str(cfg.trainer.precision).startswith("bf16")
    stamps: list[tuple[float, float]] = []
    loader = dm.train_dataloader()
    for i, batch in enumerate(loader):
        if i >= warmup + steps:
            break
        batch = dm.on_after_batch_transfer(to_device(batch, device), 0)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            step(batch)
        sync(device)
        stamps.append((time.perf_counter(), time.process_time()))
    log.close()
    return _rates(stamps, warmup)


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        args.steps, args.warmup, args.rounds = 3, 1, 1
    cols = ["task", "raw PyTorch steps/s", "Lightning steps/s", "Lightning overhead %",
            "raw CPU ms/step", "Lightning CPU ms/step", "Lightning overhead % (CPU time)"]
    report = Report("overhead", cols)
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
        r, l_ = median([x[0] for x in raw]), median([x[0] for x in lit])
        rc, lc = median([x[1] for x in raw]), median([x[1] for x in lit])
        report.rows.append({"task": task, "raw PyTorch steps/s": r, "Lightning steps/s": l_,
                            "Lightning overhead %": 100 * (r / l_ - 1), "raw CPU ms/step": rc,
                            "Lightning CPU ms/step": lc, "Lightning overhead % (CPU time)": 100 * (lc / rc - 1),
                            "per_round_raw": raw, "per_round_lightning": lit,
                            "generator": cfg.generator._target_.rsplit(".", 1)[-1],
                            "disc": (cfg.get("disc") or {}).get("_target_"), "precision": str(cfg.trainer.precision),
                            "log_every_n_steps": int(cfg.trainer.log_every_n_steps),
                            "geometry": f"{cfg.dataset.batch_size}x3x{cfg.dataset.clip_len}x{cfg.dataset.frame_size}"})
    report.settings = {"steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
                       "overrides": list(args.overrides), "tasks": tasks}
    report.notes.append("overhead % = raw steps/s over Lightning steps/s - 1 (medians of alternating runs); "
                        "a negative figure is noise. The goal is <= 3 %.")
    report.notes.append("CPU time: the process's CPU ms per step (time.process_time), the same ratio measured by "
                        "what the process itself spent, which a busy neighbour on a shared machine disturbs far "
                        "less than the wall clock (with --threads 1 it is the step's own work; on a GPU the "
                        "wall clock is the figure).")
    report.notes.append("Per-round figures in the JSON are (steps/s, CPU ms/step) pairs.")
    return report
