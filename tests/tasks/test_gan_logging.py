"""The GAN logs its figures only on the batches whose step metrics Lightning writes (plus the last
ones): the written rows and the final metrics are those of a run that logs every figure every step."""

from __future__ import annotations

import csv
from pathlib import Path

import pytorch_lightning as pl
import torch
from test_gan import TinyPairs, tiny_gan

from videogen3d.tasks.gan import ConditionalGANModule

KEYS = {f"train/{k}" for k in ("d_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "grad_norm_d", "g_adv",
                               "g_rec", "g_fm", "g_loss", "loss", "grad_norm_g")}


def fit(tmp_path: Path, every: int, calls: list[str] | None = None, **kw) -> tuple[list[dict], dict]:
    module = tiny_gan()
    if calls is not None:  # record every self.log name, in order
        real = module.log
        module.log = lambda name, *a, **k: calls.append(name) or real(name, *a, **k)
    logger = pl.loggers.CSVLogger(str(tmp_path), name="m", version=f"every{every}")
    trainer = pl.Trainer(logger=logger, log_every_n_steps=every, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0, deterministic=True,
                         accelerator="cpu", devices=1, **kw)
    trainer.fit(module, datamodule=TinyPairs(n=10))
    path = Path(logger.log_dir) / "metrics.csv"  # absent when no step was written
    rows = list(csv.DictReader(open(path))) if path.exists() else []
    return rows, {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_written_rows_and_final_metrics_equal_logging_every_step(tmp_path):
    every_step, final_1 = fit(tmp_path, 1, max_epochs=2)
    by_step = {r["step"]: r for r in every_step}
    calls: list[str] = []
    sparse, final_3 = fit(tmp_path, 3, calls, max_epochs=2)
    assert len(every_step) == 10 and len(sparse) == 3  # 5 batches an epoch; batches 3, 6 and 9 are written
    for row in sparse:
        assert {k for k, v in row.items() if v} == KEYS | {"epoch", "step"}
        assert row == by_step[row["step"]], row["step"]  # the same values at the same step, every figure
    assert final_3 == final_1 and KEYS <= set(final_3)  # the run ends with the last batch's figures
    # 10 batches: d_loss and g_loss (the progress bar's) every batch; the other ten figures on the 3 written
    # batches and the last of each epoch (5, 10): 2 * 10 + 10 * 5 calls instead of 12 * 10
    assert calls.count("train/d_loss") == calls.count("train/g_loss") == 10
    assert calls.count("train/d_real") == calls.count("train/grad_norm_g") == 5 and len(calls) == 70


def test_a_max_steps_stop_ends_with_that_batch_s_figures(tmp_path):
    _, full = fit(tmp_path, 1, max_steps=6)  # 3 batches of D + G steps
    rows, sparse = fit(tmp_path, 4, max_steps=6)  # batch 3 is neither written nor an epoch's last
    assert rows == [] and sparse == full and KEYS <= set(sparse)


def test_d_scores_are_made_from_the_last_d_step_logits():
    module = tiny_gan(d_steps=2)
    assert isinstance(module, ConditionalGANModule)
    trainer = pl.Trainer(logger=False, fast_dev_run=True, enable_progress_bar=False, enable_model_summary=False,
                         accelerator="cpu", devices=1)
    trainer.fit(module, datamodule=TinyPairs(n=4))
    m = trainer.callback_metrics
    assert 0 <= m["train/d_real"] <= 1 and 0 <= m["train/d_acc_fake"] <= 1 and torch.isfinite(m["train/d_loss"])
