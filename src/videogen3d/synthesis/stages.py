"""The stages of seed 003's system, chained through fixed paths under ``work_dir``.

    classifier   train the C3D on the main partition            -> checkpoints/classifier.ckpt
    autoencoder  train the tempCAE on the main partition         -> checkpoints/autoencoder.ckpt
                 (and, for method ours_dae, its denoising twin       -> checkpoints/autoencoder_dae.ckpt)
    judge        train the judge on the judge partition          -> checkpoints/judge.ckpt
    synthesis    eq. 8 (ours), eq. 11 (comparison), ours_dae     -> synthesis/<method>/{videos,grid.png,videos.pt}
    evaluate     judge the synthesized videos                    -> evaluation.json, methods.png (side by side)
    table        print Table 1 (markdown)                        -> table.md, table.json
    all          every stage in order (a checkpoint built with the same settings is reused unless
                 retrain=true; one built with other network/optimizer/noise settings or epochs is trained again)

Synthesis methods (``synthesis.methods``): ``ours`` (eq. 8, the seed's), ``comparison`` (eq. 11, the
seed's) and ``ours_dae`` (ours, not the seed's): eq. 8 with a denoising tempCAE (same network,
trained with ``autoencoder.dae``'s corruption) and the residual prior gradient, an ablation row.

``run(cfg)`` dispatches on ``cfg.stage``; ``synth.py`` is a thin Hydra entry around it.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from videogen3d.data.noise import check_corruption, describe_corruption
from videogen3d.data.video_io import write_png
from videogen3d.synthesis.checkpoints import (describe_geometry, load_autoencoder, load_classifier, save_checkpoint,
                                              stage_checkpoint, stage_command)
from videogen3d.synthesis.judge import evaluate_videos, real_reference
from videogen3d.synthesis.objectives import parse_targets, primary_labels
from videogen3d.synthesis.outputs import load_synthesis, write_synthesis
from videogen3d.synthesis.table import write_table
from videogen3d.tasks.autoencoder import TempCAEModule
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.tasks.synthesis import PixelSynthesis
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid

__all__ = ["STAGES", "run", "hydra_overrides"]

log = logging.getLogger(__name__)
STAGES = ("classifier", "autoencoder", "judge", "synthesis", "evaluate", "table", "all")
# synthesis.methods entry -> (PixelSynthesis method, auto-encoder checkpoint, prior gradient; None: synthesis.prior_gradient)
SYNTHESIS_METHODS = {"ours": ("ours", "autoencoder", None), "comparison": ("comparison", None, None),
                     "ours_dae": ("ours", "autoencoder_dae", "residual")}


def synthesis_methods(cfg: DictConfig) -> list[str]:
    """``synthesis.methods``, checked against :data:`SYNTHESIS_METHODS`."""
    methods = [str(m) for m in cfg.synthesis.methods]
    bad = [m for m in methods if m not in SYNTHESIS_METHODS]
    if bad or not methods:
        raise ValueError(f"synthesis.methods={methods} names unknown methods {bad}; expected some of "
                         f"{list(SYNTHESIS_METHODS)}")
    return methods


def hydra_overrides() -> list[str]:
    """The command-line overrides of the running Hydra job ([] outside Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except Exception:  # not under @hydra.main (tests, notebooks)
        return []


def _check_noise_settings(cfg: DictConfig) -> None:
    """Refuse a bad corruption setting before any stage trains, naming its full key."""
    checks = [("classifier", cfg.classifier, "noise_level", "blend"), ("judge", cfg.judge, "noise_level", "blend"),
              ("autoencoder", cfg.autoencoder, "noise_std", "gaussian")]
    if cfg.autoencoder.get("dae") is not None:
        checks.append(("autoencoder.dae", cfg.autoencoder.dae, "noise_std", "gaussian"))
    for key, group, level, kind in checks:
        check_corruption(str(group.get("corruption", kind)), float(group.get(level, 0.0)), key, level)


class _Run:
    """The config plus what every stage derives from it (work dir, geometry, overrides)."""

    def __init__(self, cfg: DictConfig, overrides: Sequence[str] | None = None) -> None:
        self.cfg = cfg
        self.work_dir = Path(cfg.work_dir)
        self.overrides = list(hydra_overrides() if overrides is None else overrides)
        src = cfg.dataset.source
        self.class_names: list[str] = list(instantiate(src).class_names)
        self.geometry = {"clip_len": int(cfg.dataset.clip_len), "frame_size": [int(v) for v in src.frame_size],
                         "class_names": self.class_names}
        _check_noise_settings(cfg)


    def datamodule(self, partition: str) -> pl.LightningDataModule:
        dcfg = OmegaConf.create(OmegaConf.to_container(self.cfg.dataset, resolve=True))
        with open_dict(dcfg):
            dcfg.source.partition = partition
            if partition == "judge":
                dcfg.source.clips_per_class = int(self.cfg.judge.clips_per_class)
        return instantiate(dcfg)

    def trainer(self, name: str, **kwargs: Any) -> pl.Trainer:
        loggers = []
        for lcfg in (self.cfg.get("logger") or {}).values():
            if lcfg is not None and "_target_" in lcfg:
                loggers.append(instantiate(lcfg, **({"name": name} if "name" in lcfg else {})))
        kwargs.setdefault("enable_checkpointing", False)
        return instantiate(self.cfg.trainer, logger=loggers or False, callbacks=[], **kwargs)

    def ckpt(self, stage: str) -> Path:
        return stage_checkpoint(self.work_dir, stage)

    def skip(self, stage: str, module: type[pl.LightningModule], kwargs: dict[str, Any], epochs: int) -> bool:
        """In ``stage=all``: reuse an existing checkpoint unless ``retrain``, or unless it was built with
        other constructor arguments than ``kwargs`` or trained for another number of ``epochs`` (the
        config changed: it is trained again, and the log says which keys differ)."""
        path = self.ckpt(stage)
        if self.cfg.stage != "all" or self.cfg.retrain or not path.is_file():
            return False
        changed = _changed_hparams(path, module, kwargs, epochs)
        if changed:
            log.info("%s: %s was built with other settings (%s); training it again", stage, path, "; ".join(changed))
            return False
        log.info("%s: reusing %s (retrain=true trains it again)", stage, path)
        return True


def _plain(value: Any) -> Any:
    """A comparable plain value (containers as JSON text, numbers as floats)."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return json.dumps(value, sort_keys=True, default=str)


def _changed_hparams(path: Path, module: type[pl.LightningModule], kwargs: dict[str, Any], epochs: int) -> list[str]:
    """``key: saved -> wanted`` for each constructor argument whose saved value differs (a key that an
    older checkpoint lacks counts as the constructor's default), and for the epochs it was trained
    (a checkpoint saved after ``fit`` holds ``epoch == max_epochs``; fewer if the run was interrupted)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    saved = ckpt.get("hyper_parameters", {})
    defaults = {k: p.default for k, p in inspect.signature(module.__init__).parameters.items()}
    out = [] if int(ckpt.get("epoch", -1)) == int(epochs) else [f"epochs: {ckpt.get('epoch')!r} -> {int(epochs)}"]
    for key, want in kwargs.items():
        have = saved.get(key, defaults.get(key))
        if _plain(have) != _plain(want):
            out.append(f"{key}: {have!r} -> {want!r}")
    return out


def _train_classifier(r: _Run, role: str) -> Path:
    """Train the C3D (``role="classifier"``, main partition) or the judge (``role="judge"``, judge partition)."""
    scfg = r.cfg.classifier if role == "classifier" else r.cfg.judge
    kwargs = {"net": OmegaConf.to_container(scfg.net, resolve=True), "class_names": r.class_names,
              "clip_len": r.geometry["clip_len"], "frame_size": r.geometry["frame_size"], "lr": float(scfg.lr),
              "weight_decay": float(scfg.weight_decay), "role": role, "schedule": str(scfg.get("schedule", "constant")),
              "noise_level": float(scfg.get("noise_level", 0.0)), "corruption": str(scfg.get("corruption", "blend"))}
    if r.skip(role, VideoClassifier, kwargs, int(scfg.epochs)):
        return r.ckpt(role)
    pl.seed_everything(int(scfg.seed), workers=True)
    dm = r.datamodule("main" if role == "classifier" else "judge")
    model = VideoClassifier(**kwargs)
    trainer = r.trainer(role, max_epochs=int(scfg.epochs))
    trainer.fit(model, datamodule=dm)
    path = save_checkpoint(trainer, r.ckpt(role))
    trainer.test(model, datamodule=dm, verbose=False)
    report = {"test_acc": float(trainer.callback_metrics.get("test/acc", float("nan"))),
              "confusion": model.test_confusion.tolist() if model.test_confusion is not None else None,
              "class_names": r.class_names}
    with atomic_path(path.with_suffix(".test.json")) as tmp:
        tmp.write_text(json.dumps(report))
    log.info("%s: test accuracy %.3f -> %s", role, report["test_acc"], path)
    return path


def _train_autoencoder(r: _Run) -> list[Path]:
    """The tempCAE; and its denoising twin (``autoencoder.dae``) when ``ours_dae`` is among the methods."""
    stages = ["autoencoder"] + (["autoencoder_dae"] if "ours_dae" in synthesis_methods(r.cfg) else [])
    paths = []
    for stage in stages:
        acfg = r.cfg.autoencoder
        noise = acfg.dae if stage == "autoencoder_dae" else acfg
        kwargs = {"net": OmegaConf.to_container(acfg.net, resolve=True), "cs": int(acfg.cs),
                  "clip_len": r.geometry["clip_len"], "frame_size": r.geometry["frame_size"], "lr": float(acfg.lr),
                  "noise_std": float(noise.get("noise_std", 0.0)), "schedule": str(acfg.get("schedule", "constant")),
                  "windows_per_clip": int(acfg.get("windows_per_clip", 0)),
                  "corruption": str(noise.get("corruption", "gaussian"))}
        if r.skip(stage, TempCAEModule, kwargs, int(acfg.epochs)):
            paths.append(r.ckpt(stage))
            continue
        pl.seed_everything(int(acfg.seed), workers=True)
        dm = r.datamodule("main")
        model = TempCAEModule(**kwargs)
        trainer = r.trainer(stage, max_epochs=int(acfg.epochs))
        trainer.fit(model, datamodule=dm)
        paths.append(save_checkpoint(trainer, r.ckpt(stage)))
    return paths


def _synthesize(r: _Run) -> dict[str, Any]:
    scfg = r.cfg.synthesis
    methods = synthesis_methods(r.cfg)
    want = r.geometry
    clf = load_classifier(r.ckpt("classifier"), want, overrides=r.overrides)
    caes = {stage: load_autoencoder(r.ckpt(stage), want, overrides=r.overrides, what=f"tempCAE ({stage})")
            for stage in {SYNTHESIS_METHODS[m][1] for m in methods} - {None}}
    targets, names = parse_targets(list(scfg.targets), r.class_names, int(scfg.videos_per_target))
    if scfg.get("multi_targets"):
        mt, mn = parse_targets(list(scfg.multi_targets), r.class_names, int(scfg.videos_per_target))
        targets, names = torch.cat([targets, mt]), names + mn
    files = {}
    for method in methods:
        kind, cae, prior_gradient = SYNTHESIS_METHODS[method]
        module = PixelSynthesis(clf.net, targets, want["clip_len"], want["frame_size"], method=kind,
                                tempcae=caes[cae].net if cae else None, eta_c3d=scfg.eta_c3d,
                                eta_tempcae=scfg.eta_tempcae, eta_norm=scfg.eta_norm, optimizer=scfg.optimizer,
                                lr=scfg.lr, iterations=int(scfg.iterations), init_scale=scfg.init_scale,
                                clamp=scfg.clamp, seed=int(scfg.seed), eta_scale=float(scfg.get("eta_scale", 1.0)),
                                eta_c3d_scale=scfg.get("eta_c3d_scale"),
                                prior_gradient=prior_gradient or str(scfg.get("prior_gradient", "full")))
        trainer = r.trainer(f"synthesis_{method}", max_steps=int(scfg.iterations), max_epochs=1,
                            limit_val_batches=0, num_sanity_val_steps=0)
        trainer.fit(module)
        settings = module.settings() | {"method": method, "scale": r.cfg.scale_name}
        settings["c3d_noise"] = describe_corruption(clf.hparams.get("corruption", "blend"),
                                                    clf.hparams.get("noise_level", 0.0))
        if cae:
            hp = caes[cae].hparams
            settings["tempcae_noise"] = describe_corruption(hp.get("corruption", "gaussian"), hp.get("noise_std", 0.0))
        files[method] = write_synthesis(r.work_dir / "synthesis" / method, module.video, names, targets, settings,
                                        r.class_names, fps=float(scfg.fps), mp4=bool(scfg.mp4))
        log.info("synthesis %s: %d videos -> %s", method, len(names), files[method]["grid"])
    return files


def _evaluate(r: _Run) -> dict[str, Any]:
    judge = load_classifier(r.ckpt("judge"), r.geometry, what="judge", stage="judge", overrides=r.overrides)
    dm = r.datamodule("judge")
    dm.setup("test")
    ref = real_reference(judge.net, dm.test_dataloader(), lambda b: dm.on_after_batch_transfer(b, 0))
    evaluation: dict[str, Any] = {
        "scale": r.cfg.scale_name, "geometry": describe_geometry(r.geometry),
        "judge": type(judge.net).__name__, "real": {k: v for k, v in ref.items() if k != "features"}, "methods": {}}
    records: dict[str, dict[str, Any]] = {}
    for method in synthesis_methods(r.cfg):
        record = load_synthesis(r.work_dir / "synthesis" / method / "videos.pt",
                                stage_command("synthesis", r.overrides))
        if record["class_names"] != r.class_names:
            raise ValueError(f"synthesized videos of {method} were made for classes {record['class_names']}, "
                             f"the judge knows {r.class_names}")
        evaluation["methods"][method] = evaluate_videos(judge.net, record, ref["features"])
        records[method] = record
    with atomic_path(r.work_dir / "evaluation.json") as tmp:
        tmp.write_text(json.dumps(evaluation, indent=2))
    _side_by_side(r, dm, records)
    return evaluation


def _side_by_side(r: _Run, dm: pl.LightningDataModule, records: dict[str, dict[str, Any]]) -> Path | None:
    """``methods.png``: per single-label target, a real clip of its class, then each method's first video."""
    real: dict[int, torch.Tensor] = {}
    for batch in dm.test_dataloader():
        batch = dm.on_after_batch_transfer(batch, 0)
        for video, label in zip(batch["target"], batch["label"].tolist()):
            real.setdefault(int(label), video.cpu())
        if len(real) == len(r.class_names):
            break
    rows = []
    first = next(iter(records.values()))
    labels, single = primary_labels(first["targets"])
    seen = set()
    for i, (label, one) in enumerate(zip(labels.tolist(), single.tolist())):
        if not one or label in seen:
            continue
        seen.add(label)
        if label in real:
            rows.append(real[label])
        rows += [rec["videos"][i] for rec in records.values()]
    if not rows:  # only multi-label targets: nothing to set beside a real clip
        return None
    path = write_png(r.work_dir / "methods.png", frame_grid(rows))
    log.info("side by side (per target: real, %s) -> %s", ", ".join(records), path)
    return path


def _table(r: _Run) -> str:
    path = r.work_dir / "evaluation.json"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation at {str(path)!r}; make it with: {stage_command('evaluate', r.overrides)}")
    md, md_path, _ = write_table(json.loads(path.read_text()), r.work_dir)
    print(md)
    log.info("table written to %s (and .json)", md_path)
    return md


def run(cfg: DictConfig, overrides: Sequence[str] | None = None) -> Any:
    """Run ``cfg.stage`` (one of :data:`STAGES`); returns the stage's result."""
    stage = str(cfg.stage)
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is unknown; expected one of {list(STAGES)}")
    r = _Run(cfg, overrides)
    steps = {"classifier": lambda: _train_classifier(r, "classifier"), "autoencoder": lambda: _train_autoencoder(r),
             "judge": lambda: _train_classifier(r, "judge"), "synthesis": lambda: _synthesize(r),
             "evaluate": lambda: _evaluate(r), "table": lambda: _table(r)}
    if stage != "all":
        return steps[stage]()
    result, seconds = None, {}
    for name in STAGES[:-1]:
        log.info("stage %s", name)
        t0 = time.perf_counter()
        result = steps[name]()
        seconds[name] = round(time.perf_counter() - t0, 1)
        log.info("stage %s took %.1f s", name, seconds[name])
    seconds["total"] = round(sum(seconds.values()), 1)
    with atomic_path(r.work_dir / "timings.json") as tmp:  # wall time per stage of this stage=all run
        tmp.write_text(json.dumps(seconds, indent=2))
    log.info("stage=all wall time per stage (s): %s", seconds)
    return result
