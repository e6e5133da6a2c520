"""Score a checkpoint on a dataset split: the metrics table as markdown and JSON (seed 000 §5.3).

The dataset is the run's own (its saved config), so ``val``/``test`` are the very sequences the
run held out (the split is seeded); overrides point it elsewhere, e.g.
``dataset=video_pairs dataset.source.manifest=pairs.csv``. The generator sees the split's
clips (``dataset.clip_len`` frames, every ``val_stride``); the identity baseline (the condition
taken as the output) is scored beside it, as ``train.py`` does. ``results=DIR`` also writes a results
page (``videogen3d.platform.results_page``): per clip the condition, generated and target as MP4 and
PNG, and ``index.html`` with the metrics.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from hydra.utils import instantiate

from videogen3d.metrics.video import video_metrics
from videogen3d.utils.progress import track
from videogen3d.platform.checkpoint import load_generator
from videogen3d.platform.results_page import ResultsPage
from videogen3d.utils.io import write_json

__all__ = ["METRICS", "evaluate_checkpoint", "markdown_table", "write_json"]

# key -> (row label, better)
METRICS = {"mse": ("MSE", "lower"), "psnr": ("PSNR (dB)", "higher"), "ssim": ("SSIM", "higher"),
           "temporal_error": ("temporal consistency error", "lower")}
SPLITS = ("train", "val", "test")


@torch.no_grad()
def evaluate_checkpoint(
    ckpt: str | os.PathLike, split: str = "val", overrides: list[str] | tuple[str, ...] = (),
    config: str | os.PathLike | None = None, device: str = "cpu", conf_dir: str | os.PathLike | None = None,
    trust: bool = False, results: str | os.PathLike | None = None, results_clips: int = 16,
    overwrite: bool = False,
) -> dict:
    """``{checkpoint, split, clips, frames, metrics: {mse, psnr, ssim, temporal_error}, identity: {...}}``
    (and ``results_page``: the ``index.html`` written when ``results`` names a folder)."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; expected one of {SPLITS}")
    gen = load_generator(ckpt, config, overrides, device, conf_dir, trust)
    datamodule = instantiate(gen.config.dataset, _recursive_=True)
    datamodule.setup("test" if split == "test" else "fit")
    if not getattr(datamodule, "has_condition", False):
        raise ValueError("the dataset has no condition video to translate (a labelled dataset?); pick a paired "
                         "dataset, e.g. dataset=video_pairs dataset.source.manifest=pairs.csv")
    loader = getattr(datamodule, f"{split}_dataloader")()
    if len(loader) == 0:
        raise ValueError(f"the {split} split is empty (dataset.{split}_fraction=0 or too few sequences); "
                         f"try --split val or set dataset.{split}_fraction")
    frame_size = datamodule.frame_size
    model, identity = video_metrics("", frame_size=frame_size), video_metrics("", frame_size=frame_size)
    model, identity = model.to(device), identity.to(device)
    page = None
    if results is not None:
        page = ResultsPage(results, results_clips, fps=getattr(datamodule, "fps", 8.0), frame_size=frame_size,
                           overwrite=overwrite)
    clips = frames = 0
    try:
        for batch in track(loader, f"evaluate {split}"):
            batch = datamodule.on_after_batch_transfer({k: v.to(device) for k, v in batch.items()})
            cond, target = batch["cond"], batch["target"]
            fake = gen(cond).float().clamp(-1, 1)
            model.update(fake, target)
            identity.update(cond, target)
            if page is not None and not page.full:
                page.add(cond, fake, target)
            clips += len(cond)
            frames += cond.shape[0] * cond.shape[2]
        result = {
            "checkpoint": str(ckpt), "split": split, "clips": clips, "frames": frames,
            "metrics": {k: float(v) for k, v in model.compute().items()},
            "identity": {k: float(v) for k, v in identity.compute().items()},
        }
        if page is not None:
            result["results_page"] = str(page.write(result, METRICS))
    finally:
        if page is not None:
            page.discard()  # the temporary folder, when the page was not written
    return result


def markdown_table(result: dict) -> str:
    """The metrics of :func:`evaluate_checkpoint` as a markdown table (one row per metric)."""
    lines = [f"Checkpoint `{result['checkpoint']}`, split `{result['split']}`: {result['clips']} clips, "
             f"{result['frames']} frames.", "",
             "| metric | generator | identity baseline | better |", "|---|---:|---:|---|"]
    for key, (label, better) in METRICS.items():
        lines.append(f"| {label} | {result['metrics'][key]:.4f} | {result['identity'][key]:.4f} | {better} |")
    return "\n".join(lines)


