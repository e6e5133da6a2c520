"""Training entry: build data, task, callbacks, loggers and trainer from a composed config.

``train(cfg)`` is separate from the ``@hydra.main`` wrapper in the repository's ``train.py`` so
tests and notebooks can call it with a config from ``hydra.compose``.
"""

from __future__ import annotations

import json
import os
import logging
import time
import traceback
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from videogen3d.metrics.baselines import baseline_psnr
from videogen3d.utils.config import ConfigError, check_config, instantiate_group
from videogen3d.utils.io import atomic_path
from videogen3d.utils.loggers import log_final
from videogen3d.utils.precision import check_precision
from videogen3d.utils.task_config import build_task, check_task

SUMMARY_FILE = "summary.json"  # per run: status, wall time, final metrics (read by `videogen3d report`)

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit (and optionally test) one run; returns its final metrics and the paths it wrote.

    ``<output_dir>/summary.json`` records the run's status (``running``, then ``finished``,
    ``stopped`` when it ended before ``max_epochs``, or ``failed`` with the error), its wall time and
    final metrics, so a report over a multirun lists every job, failed ones included.
    """
    start = time.time()
    summary = {"run_name": cfg.get("run_name"), "experiment_id": cfg.get("experiment_id"),
               "status": "running", "started": start}
    _write_summary(cfg, summary)
    try:
        results = _train(cfg)
    except BaseException as err:  # KeyboardInterrupt too: the run is listed as failed, never dropped
        summary.update(status="failed", error=f"{type(err).__name__}: {err}", wall_s=time.time() - start,
                       traceback=traceback.format_exc(limit=8))
        _write_summary(cfg, summary)
        raise
    max_epochs = cfg.trainer.get("max_epochs")
    done = results.pop("_completed_epochs")
    stopped = results.pop("_interrupted") or (max_epochs not in (None, -1) and done < max_epochs
                                              and not cfg.trainer.get("fast_dev_run"))
    summary.update(status="stopped" if stopped else "finished", wall_s=time.time() - start,
                   epochs_done=done, max_epochs=max_epochs, results=results)
    _write_summary(cfg, summary)
    return results


def _write_summary(cfg: DictConfig, summary: dict[str, Any]) -> None:
    out = cfg.get("paths", {}).get("output_dir")
    if not out:
        return
    with atomic_path(Path(out) / SUMMARY_FILE) as tmp:
        tmp.write_text(json.dumps(summary, indent=1, default=str))


def _start_logger(logger: Any, hparams: dict[str, Any]) -> None:
    """Log the run's config, which starts the logger's run (``wandb.init`` for W&B), before any data is
    rendered. A W&B server that refuses the key or cannot be reached within ``init_timeout`` ends the run
    here with one line naming the logger and the ways out, instead of W&B's traceback."""
    try:
        logger.log_hyperparams(hparams)
    except Exception as err:
        if not isinstance(logger, pl.loggers.WandbLogger):
            raise
        import wandb

        if not isinstance(err, wandb.errors.Error):
            raise
        url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
        raise ConfigError(f"logger=wandb: W&B could not start the run online ({url}): {str(err).strip()}. "
                          "Check the API key (WANDB_API_KEY or `wandb login`), or log offline and sync later: "
                          "logger.wandb.offline=true or WANDB_MODE=offline") from err


def _train(cfg: DictConfig) -> dict[str, Any]:
    check_config(cfg)
    check_task(cfg)
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    # a 2-core laptop and a GPU node both profit from TF32/`high` matmul precision where present
    torch.set_float32_matmul_precision("high")

    datamodule: pl.LightningDataModule = instantiate(cfg.dataset, _recursive_=True)
    module: pl.LightningModule = build_task(cfg, datamodule)
    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    strategy = cfg.trainer.get("strategy")
    extra = {}
    if getattr(module, "ddp_find_unused_parameters", False) and strategy in ("ddp", "ddp_spawn"):
        # the GAN steps G and D in turn, so each backward leaves the other network's parameters unused
        extra["strategy"] = f"{strategy}_find_unused_parameters_true"
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **extra)
    check_precision(trainer)

    run_config = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # compose() may add hydra
    for lg in loggers:
        _start_logger(lg, OmegaConf.to_container(run_config, resolve=True))  # type: ignore[arg-type]

    # a checkpoint to resume from may come from elsewhere: tensors and plain values only, unless trusted
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"),
                weights_only=not cfg.get("trust_checkpoint", False))
    results: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    results["global_step"], results["epochs"] = trainer.global_step, trainer.current_epoch
    # epochs whose training loop ran to the end (current_epoch is one past the last after fit)
    results["_completed_epochs"] = trainer.current_epoch
    results["_interrupted"] = bool(trainer.interrupted)
    results["params/generator"] = sum(p.numel() for p in module.generator.parameters())
    disc = getattr(module, "disc", None)
    results["params/disc"] = sum(p.numel() for p in disc.parameters()) if disc is not None else 0

    if cfg.get("test"):
        ckpt = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else None
        trainer.test(module, datamodule=datamodule, ckpt_path=ckpt or None)
        results.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")})

    if cfg.get("baselines") and trainer.is_global_zero:
        results.update(baseline_psnr(datamodule))
    results.update(_written_paths(trainer))
    if trainer.is_global_zero:
        log_final(trainer.loggers, results, step=trainer.global_step)
        _print_summary(results)
    return results


def _written_paths(trainer: pl.Trainer) -> dict[str, str]:
    paths: dict[str, str] = {}
    ckpt = trainer.checkpoint_callback
    if ckpt is not None:
        paths["checkpoint"] = ckpt.best_model_path or ckpt.last_model_path
        if ckpt.last_model_path:
            paths["last_checkpoint"] = ckpt.last_model_path
    for lg in trainer.loggers:
        if isinstance(lg, pl.loggers.CSVLogger):
            paths["metrics_csv"] = str(Path(lg.log_dir) / "metrics.csv")
    for cb in trainer.callbacks:
        latest = getattr(cb, "latest_video", None)
        if latest:
            paths["comparison_video"] = str(latest)
            paths["comparison_png"] = str(cb.latest_png)
    return paths


def _print_summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="videogen3d run", show_header=False)
    for key in sorted(k for k, v in results.items() if isinstance(v, float)):
        table.add_row(key, f"{results[key]:.4f}")
    console.print(table)
    for key in ("checkpoint", "last_checkpoint", "metrics_csv", "comparison_video", "comparison_png"):
        if results.get(key):
            console.print(f"{key:>17}: {results[key]}", soft_wrap=True, highlight=False)
