"""The stages of seed 003's system, chained through fixed paths under ``work_dir``.

    classifier   train the C3D on the main partition            -> checkpoints/classifier.ckpt
                 (and, for methods that use it, the robust C3D    -> checkpoints/classifier_robust.ckpt)
    autoencoder  train the tempCAE on the main partition         -> checkpoints/autoencoder.ckpt
                 (and, for methods that use them, its denoising twin -> checkpoints/autoencoder_dae.ckpt
                 and the clip VAE through which the best method synthesises -> checkpoints/vae.ckpt,
                 then the VAE-domain C3D, trained on real clips and the VAE's reconstructions
                                                                 -> checkpoints/classifier_vae.ckpt;
                 with introspective rounds, the first one is kept    -> checkpoints/classifier_vae_plain.ckpt;
                 for a method with a pair_guide, the two-object C3D -> checkpoints/classifier_pair.ckpt;
                 for a method that uses it, the temporal-shift 2D CNN -> checkpoints/classifier_tsm.ckpt and the still-frame
                 2D CNN -> checkpoints/classifier_still.ckpt)
    judge        train the judge on the judge partition          -> checkpoints/judge.ckpt
    synthesis    each method of synthesis.methods                -> synthesis/<method>/{videos,grid.png,videos.pt}
    evaluate     judge the synthesized videos                    -> evaluation.json, methods.png (side by side)
    table        print Table 1 (markdown)                        -> table.md, table.json
    all          every stage in order (a checkpoint built with the same settings is reused unless
                 retrain=true; one built with other module settings or epochs is trained again) -> timings.json
    methods      synthesis, evaluate and table (e.g. ablation rows into their own ``report_dir``), with the
                 checkpoints as stage=all left them; a training stage runs only for one that is missing

Every module is built by ``hydra.utils.instantiate`` from its config node (``<group>.module``: the
LightningModule with its network and ``_partial_`` optimizer), with the clip geometry added; the node
is kept in the checkpoint (:class:`~videogen3d.synthesis.checkpoints.ModuleConfigInCheckpoint`), so a
later stage rebuilds the module from it. Methods are config too (``synthesis.method_defs``,
:mod:`videogen3d.synthesis.methods`): the seed's ``ours`` (eq. 8) and ``comparison`` (eq. 11), our
``ours_dae`` and ``best``, and ablations of ``best``.

``run(cfg)`` dispatches on ``cfg.stage``; ``synth.py`` is a thin Hydra entry around it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from videogen3d.data.noise import check_corruption
from videogen3d.data.video_io import write_png
from videogen3d.synthesis.checkpoints import (ModuleConfigInCheckpoint, changed_settings, checkpoint_identity,
                                              describe_geometry, load_classifier, save_checkpoint,
                                              stage_checkpoint, stage_command)
from videogen3d.synthesis.judge import evaluate_videos, real_multi_reference, real_reference
from videogen3d.synthesis.methods import stage_checkpoints, synthesis_methods
from videogen3d.losses.synthesis import primary_labels
from videogen3d.synthesis.outputs import load_synthesis
from videogen3d.synthesis.synthesize import checked_method, synthesize
from videogen3d.synthesis.table import write_table
from videogen3d.synthesis.training import (negatives_identity, train_autoencoder, train_classifier,
                                           train_classifiers)
from videogen3d.utils.config import ConfigError, check_whole
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid
from videogen3d.utils.precision import check_precision
import videogen3d.utils.loggers  # noqa: E402,F401  registers vg3d.suffix (conf/hydra's sweep.subdir: python synth.py -m)

__all__ = ["STAGES", "run", "hydra_overrides"]

log = logging.getLogger(__name__)
# conf/synth: the config groups of synth.py only; conf/synth.yaml adds it to Hydra's search path via this resolver
SYNTH_CONF_DIR = Path(__file__).resolve().parents[3] / "conf" / "synth"
if not OmegaConf.has_resolver("synth_conf"):
    OmegaConf.register_new_resolver("synth_conf", lambda: SYNTH_CONF_DIR.as_posix())
STAGES = ("classifier", "autoencoder", "judge", "synthesis", "evaluate", "table", "all", "methods")
# all: every stage in order; methods: synthesis, evaluate and table with the checkpoints as they are (a
# training stage runs only for a missing one), e.g. the ablation rows into their own report_dir
# classifier_robust is trained in stage classifier when a method uses it


def hydra_overrides() -> list[str]:
    """The command-line overrides of the running Hydra job ([] outside Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except Exception:  # not under @hydra.main (tests, notebooks)
        return []


def _check_noise_settings(cfg: DictConfig) -> None:
    """Refuse a bad corruption setting before any stage trains, naming its full key."""
    checks = [("classifier.module", cfg.classifier.module, "noise_level", "blend"),
              ("judge.module", cfg.judge.module, "noise_level", "blend"),
              ("autoencoder.module", cfg.autoencoder.module, "noise_std", "gaussian")]
    if cfg.autoencoder.get("dae") is not None:
        dae = OmegaConf.merge(cfg.autoencoder.module, cfg.autoencoder.dae.get("module") or {})
        checks.append(("autoencoder.dae.module", dae, "noise_std", "gaussian"))
    for key, group, level, kind in checks:
        check_corruption(str(group.get("corruption", kind)), float(group.get(level, 0.0)), key, level)


# checkpoint stage -> (config group, the group's sub-node whose keys replace the group's for that stage)
TASKS = {"classifier": ("classifier", None), "classifier_robust": ("classifier", "robust"),
         "judge": ("judge", None), "autoencoder": ("autoencoder", None), "autoencoder_dae": ("autoencoder", "dae"),
         "vae": ("vae", None), "classifier_vae": ("classifier", "vae_domain"),
         "classifier_vae_plain": ("classifier", "vae_domain"), "classifier_pair": ("classifier", "pair"),
         "classifier_tsm": ("classifier", "tsm"), "classifier_still": ("classifier", "still")}


def _check_epochs(cfg: DictConfig) -> None:
    """Refuse an ``epochs`` that is not a whole number >= 1 (Lightning reads max_epochs=-1 as "train forever") and a
    group's ``seed`` that is not a whole number >= 0 before any stage trains, naming its full key; and a C3D variant's
    ``init`` that names no checkpoint it can start from."""
    for group, variant in dict.fromkeys(TASKS.values()):
        node = cfg.get(group)
        seed = node.get("seed") if node is not None else None
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError(f"{group}.seed={seed!r} must be a whole number >= 0")
        sub = node.get(variant) if node is not None and variant else None
        if node is None or (variant and sub is None):
            continue
        key, value = (f"{group}.{variant}.epochs", sub.epochs) if sub is not None and "epochs" in sub \
            else (f"{group}.epochs", node.get("epochs"))
        check_whole(key, value, "a whole number of epochs")
    # the checkpoint a C3D variant starts from must be one trained before it (stage classifier)
    for variant, allowed in (("robust", ("classifier",)), ("vae_domain", ("classifier", "classifier_robust")),
                             ("pair", ("classifier", "classifier_robust"))):
        init = OmegaConf.select(cfg, f"classifier.{variant}.init")
        if init is not None and init not in allowed:
            raise ConfigError(f"classifier.{variant}.init={init!r}; expected null (from scratch) or one of "
                              f"{list(allowed)}")


class _Run:
    """The config plus what every stage derives from it (work dir, geometry, overrides)."""

    def __init__(self, cfg: DictConfig, overrides: Sequence[str] | None = None) -> None:
        self.cfg = cfg
        self.work_dir = Path(cfg.work_dir)
        self.report_dir = Path(cfg.get("report_dir") or cfg.work_dir)  # evaluation, table, methods.png, timings
        self.overrides = list(hydra_overrides() if overrides is None else overrides)
        src = cfg.dataset.source
        self.class_names: list[str] = list(instantiate(src).class_names)
        self.geometry = {"clip_len": int(cfg.dataset.clip_len), "frame_size": [int(v) for v in src.frame_size],
                         "class_names": self.class_names}
        _check_noise_settings(cfg)
        _check_epochs(cfg)


    def datamodule(self, partition: str, clips_per_class: int | None = None) -> pl.LightningDataModule:
        dcfg = OmegaConf.create(OmegaConf.to_container(self.cfg.dataset, resolve=True))
        with open_dict(dcfg):
            dcfg.source.partition = partition
            if partition == "judge":
                dcfg.source.clips_per_class = int(self.cfg.judge.clips_per_class)
            elif clips_per_class is not None:  # a network with its own share of the partition (vae)
                dcfg.source.clips_per_class = int(clips_per_class)
        return instantiate(dcfg, _convert_="all")  # plain containers: checkpoints load with weights_only

    def data_settings(self, task: DictConfig) -> dict[str, Any]:
        """The data settings of a task that its checkpoint records (a change trains it again): its own
        ``clips_per_class``, and for a C3D trained on from another checkpoint (``init``: the robust or the
        VAE-domain C3D) the checkpoints it is made from (``init``, and the clip VAE where it renders clips;
        a retrained one trains it again)."""
        out: dict[str, Any] = {"clips_per_class": int(task.clips_per_class)} if task.get("clips_per_class") is not None else {}
        sources = ([str(task.init)] if task.get("init") else []) + (
            ["vae"] if float(task.module.get("generator_mix", 0.0)) > 0 else [])
        if sources:
            out["made_from"] = {c: checkpoint_identity(self.ckpt(c)) for c in sources if self.ckpt(c).is_file()}
        return out | negatives_identity(self, task)  # the VAE-domain C3D's negatives: other ones train it again

    def trainer(self, name: str, **kwargs: Any) -> pl.Trainer:
        loggers = []
        for lcfg in (self.cfg.get("logger") or {}).values():
            if lcfg is not None and "_target_" in lcfg:
                loggers.append(instantiate(lcfg, **({"name": name} if "name" in lcfg else {})))
        kwargs.setdefault("enable_checkpointing", False)
        kwargs.setdefault("callbacks", [])
        trainer = instantiate(self.cfg.trainer, logger=loggers or False, **kwargs)
        check_precision(trainer)
        return trainer

    def ckpt(self, stage: str) -> Path:
        return stage_checkpoint(self.work_dir, stage)

    def task(self, stage: str) -> DictConfig:
        """The config of ``stage``'s training (``module``, ``epochs``, ``seed``, ...): its group, with the
        variant's keys merged over it (``classifier.robust``, ``autoencoder.dae``) and the clip geometry
        added to ``module`` (the LightningModule node that ``instantiate`` builds)."""
        group, variant = TASKS[stage]
        node = OmegaConf.create(OmegaConf.to_container(self.cfg[group], resolve=True))
        if variant:
            node = OmegaConf.merge(node, node[variant])
            if OmegaConf.select(node[variant], "module.net._target_"):  # another network: its node, not merged over the C3D's
                node.module.net = node[variant].module.net
        if stage == "classifier_vae_plain" or (stage == "classifier_vae" and not node.get("negatives")
                                               and not OmegaConf.select(node, "introspection.rounds")):
            node.negatives, node.introspection, node.module.negative_share = None, None, 0.0  # no negatives
        g = self.geometry
        if group == "autoencoder":
            add = {"clip_len": g["clip_len"], "frame_size": g["frame_size"],
                   "net": {"cs": int(node.module.cs), "frame_size": g["frame_size"]}}
        elif group == "vae":
            add = {"clip_len": g["clip_len"], "frame_size": g["frame_size"],
                   "net": {"clip_len": g["clip_len"], "frame_size": g["frame_size"]}}
        else:
            add = {"class_names": g["class_names"], "clip_len": g["clip_len"], "frame_size": g["frame_size"],
                   "role": stage, "net": {"num_classes": len(g["class_names"]), "clip_len": g["clip_len"],
                                          "frame_size": g["frame_size"]}}
        node.module = OmegaConf.merge(node.module, add)
        return node

    def build(self, stage: str, task: DictConfig | None = None) -> pl.LightningModule:
        """``stage``'s module, untrained, from its config node; a node that cannot be built is a
        :class:`ConfigError` naming the checkpoint and the node."""
        node = (task or self.task(stage)).module
        group, variant = TASKS[stage]
        key = f"{group}.{variant}.module" if variant else f"{group}.module"
        try:
            model = instantiate(node, _convert_="all")  # plain lists: weights_only loads
        except Exception as e:  # hydra's InstantiationException around the module's own ValueError
            reason = str(e).replace("\n", " ")
            raise ConfigError(f"{stage}: its module ({key}) cannot be built: {reason}") from e
        if node.get("optimizer") is not None:  # a partial that fit() completes: build it once now (lr=-1 fails here)
            try:
                instantiate(node.optimizer)([torch.nn.Parameter(torch.zeros(1))])
            except Exception as e:
                reason = str(e).replace("\n", " ")
                raise ConfigError(f"{stage}: its optimizer ({key}.optimizer) cannot be built: {reason}") from e
        return model

    def skip(self, stage: str, task: DictConfig) -> bool:
        """In ``stage=all``: reuse an existing checkpoint unless ``retrain``, or unless it was built from
        another module config or trained for another number of epochs (the config changed: it is
        trained again, and the log says which keys differ). In ``stage=methods``: reuse any existing
        checkpoint (the rows sit beside those of ``stage=all``), train only a missing one."""
        path = self.ckpt(stage)
        if self.cfg.stage == "methods" and path.is_file():  # extra rows beside stage=all: its checkpoints as they are
            log.info("%s: reusing %s (stage=methods trains only a checkpoint that is missing)", stage, path)
            return True
        if self.cfg.stage != "all" or self.cfg.retrain or not path.is_file():
            return False
        changed = changed_settings(path, task.module, int(task.epochs), self.data_settings(task))
        if changed:
            log.info("%s: %s was built with other settings (%s); training it again", stage, path, "; ".join(changed))
            return False
        log.info("%s: reusing %s (retrain=true trains it again)", stage, path)
        return True

    def fit(self, stage: str, partition: str, prepare: Callable[[pl.LightningModule], None] | None = None,
            task: DictConfig | None = None) -> tuple[pl.LightningModule, pl.Trainer, pl.LightningDataModule]:
        """Build ``stage``'s module from its config (or ``task``; ``prepare`` may then set it up, e.g. load
        weights), train it on ``partition``, save its checkpoint."""
        task = self.task(stage) if task is None else task
        pl.seed_everything(int(task.seed), workers=True)
        data = self.data_settings(task)
        dm = self.datamodule(partition, data.get("clips_per_class"))
        model = self.build(stage, task)
        if prepare is not None:
            prepare(model)
        trainer = self.trainer(stage, max_epochs=int(task.epochs),
                               callbacks=[ModuleConfigInCheckpoint(task.module, data)])
        trainer.fit(model, datamodule=dm)
        save_checkpoint(trainer, self.ckpt(stage))
        return model, trainer, dm


def _evaluate(r: _Run) -> dict[str, Any]:
    judge = load_classifier(r.ckpt("judge"), r.geometry, what="judge", stage="judge", overrides=r.overrides)
    dm = r.datamodule("judge")
    dm.setup("test")
    ref = real_reference(judge.net, dm.test_dataloader(), lambda b: dm.on_after_batch_transfer(b, 0))
    evaluation: dict[str, Any] = {
        "scale": r.cfg.scale_name, "geometry": describe_geometry(r.geometry), "judge": type(judge.net).__name__,
        "judge_composite_mix": float(judge.hparams.get("composite_mix", 0.0)),
        "real": {k: v for k, v in ref.items() if k not in ("features", "by_class")}, "methods": {}}
    records: dict[str, dict[str, Any]] = {}
    for method in synthesis_methods(r.cfg):
        record = load_synthesis(r.work_dir / "synthesis" / method / "videos.pt",
                                stage_command("synthesis", r.overrides))
        if record["class_names"] != r.class_names:
            raise ValueError(f"synthesized videos of {method} were made for classes {record['class_names']}, "
                             f"the judge knows {r.class_names}")
        evaluation["methods"][method] = evaluate_videos(judge.net, record, ref["features"])
        records[method] = record
    # the judge on real two-object clips (the multi-label targets' classes composited): what a faithful video gets
    multi = real_multi_reference(judge.net, ref["by_class"], torch.cat([rec["targets"] for rec in records.values()]),
                                 r.class_names)
    if multi is not None:
        evaluation["real"].update(multi)
    with atomic_path(r.report_dir / "evaluation.json") as tmp:
        tmp.write_text(json.dumps(evaluation, indent=2))
    _side_by_side(r, ref["by_class"], records)
    return evaluation


def _side_by_side(r: _Run, real_by_class: dict[int, list[torch.Tensor]], records: dict[str, dict[str, Any]],
                  frames: int = 4) -> Path | None:
    """``methods.png``: one row per single-label target class: ``frames`` evenly spaced frames of a real clip
    of that class (its first held-out clip), then of each method's first video for it, panels parted by a
    black frame."""
    real = {label: clips[0] for label, clips in real_by_class.items()}
    rows = []
    first = next(iter(records.values()))
    labels, single = primary_labels(first["targets"])
    seen = set()
    for i, (label, one) in enumerate(zip(labels.tolist(), single.tolist())):
        if not one or label in seen:
            continue
        seen.add(label)
        videos = ([real[label]] if label in real else []) + [rec["videos"][i].float() for rec in records.values()]
        pick = torch.linspace(0, videos[0].shape[1] - 1, frames).round().long()
        black = -torch.ones_like(videos[0][:, :1])
        panels = [p for v in videos for p in (v.float()[:, pick], black)][:-1]
        rows.append(torch.cat(panels, dim=1))
    if not rows:  # only multi-label targets: nothing to set beside a real clip
        return None
    path = write_png(r.report_dir / "methods.png", frame_grid(rows))
    log.info("side by side (per class: real, %s) -> %s", ", ".join(records), path)
    return path


def _table(r: _Run) -> str:
    path = r.report_dir / "evaluation.json"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation at {str(path)!r}; make it with: {stage_command('evaluate', r.overrides)}")
    md, md_path, _ = write_table(json.loads(path.read_text()), r.report_dir)
    print(md)
    log.info("table written to %s (and .json)", md_path)
    return md


def _build_every_module(r: _Run) -> None:
    """Build (untrained) every module that the run's training stages may train, and check every method's
    synthesis settings and the trainer's precision, before the first stage starts, so that a bad setting of
    a later stage (``vae.module.net.widths=[0]``, a method's ``code_sphere: maybe``, bf16 on a CPU that gets
    it wrong) stops the run at once instead of after the stages before it have trained."""
    for name in ("classifier", "autoencoder", "judge"):
        for ckpt in stage_checkpoints(r.cfg, name):
            r.build(ckpt)
    for method in synthesis_methods(r.cfg):
        checked_method(r.cfg, method)  # the check PixelSynthesis itself makes, on the settings synthesize passes it
    check_precision(instantiate(r.cfg.trainer, logger=False, enable_checkpointing=False))  # as r.trainer() does


def run(cfg: DictConfig, overrides: Sequence[str] | None = None) -> Any:
    """Run ``cfg.stage`` (one of :data:`STAGES`); returns the stage's result."""
    stage = str(cfg.stage)
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is unknown; expected one of {list(STAGES)}")
    r = _Run(cfg, overrides)
    steps = {"classifier": lambda: train_classifiers(r), "autoencoder": lambda: train_autoencoder(r),
             "judge": lambda: train_classifier(r, "judge"), "synthesis": lambda: synthesize(r),
             "evaluate": lambda: _evaluate(r), "table": lambda: _table(r)}
    if stage not in ("all", "methods"):
        return steps[stage]()
    _build_every_module(r)
    result, seconds, cpu = None, {}, {}
    for name in STAGES[:6]:
        if stage == "methods" and name in ("classifier", "autoencoder", "judge") and all(
                r.ckpt(c).is_file() for c in stage_checkpoints(r.cfg, name)):
            continue  # stage=methods: a training stage runs only for a checkpoint that is missing
        log.info("stage %s", name)
        t0, c0 = time.perf_counter(), time.process_time()
        result = steps[name]()
        seconds[name] = round(time.perf_counter() - t0, 1)
        cpu[name] = round(time.process_time() - c0, 1)
        log.info("stage %s took %.1f s (CPU time %.1f s)", name, seconds[name], cpu[name])
    seconds["total"] = round(sum(seconds.values()), 1)
    cpu["total"] = round(sum(cpu.values()), 1)
    # wall time per stage of this stage=all run; CPU time (all threads of this process) tells how much of
    # the wall time was this run's own work on a machine shared with other jobs
    with atomic_path(r.report_dir / "timings.json") as tmp:
        tmp.write_text(json.dumps(seconds | {"cpu_seconds": cpu, "torch_threads": torch.get_num_threads()}, indent=2))
    log.info("stage=%s wall time per stage (s): %s", stage, seconds)
    return result
