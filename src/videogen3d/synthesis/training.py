"""The training stages of :mod:`videogen3d.synthesis.stages`: the C3Ds (standard, robust, VAE-domain), the
tempCAEs and the clip VAE, and the judge, each trained only when a method of ``synthesis.methods`` needs it
(or reused, see ``_Run.skip``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis.checkpoints import checkpoint_identity, load_classifier, load_vae, safe_load
from videogen3d.synthesis.methods import checkpoints_used, introspection, needed_checkpoints, synthesis_kwargs
from videogen3d.synthesis.outputs import write_synthesis
from videogen3d.synthesis.synthesize import Networks, optimise
from videogen3d.utils.io import atomic_path

if TYPE_CHECKING:
    from videogen3d.synthesis.stages import _Run

__all__ = ["negatives_identity", "train_classifiers", "train_classifier", "train_autoencoder", "train_vae_domain"]

log = logging.getLogger("videogen3d.synthesis.stages")


def train_classifiers(r: "_Run") -> list[Path]:
    """The C3D and the robust C3D (``classifier.robust``), those of the two that a synthesis method uses; the
    robust one starts from ``classifier.robust.init``'s weights where that is set (adversarial fine-tuning)."""
    need = needed_checkpoints(r.cfg)
    paths = []
    for role in [c for c in ("classifier", "classifier_robust") if c in need]:
        init = r.task(role).get("init")
        paths.append(train_classifier(r, role, _start_from(r, str(init)) if init else None))
    return paths


def _start_from(r: "_Run", init: str) -> Callable[[pl.LightningModule], None]:
    """A ``prepare`` that loads checkpoint ``init``'s C3D weights into the module about to be trained."""
    def prepare(model: pl.LightningModule) -> None:
        start = load_classifier(r.ckpt(init), r.geometry, overrides=r.overrides, what=f"C3D ({init})", stage="classifier")
        model.net.load_state_dict(start.net.state_dict())
    return prepare


def train_classifier(r: "_Run", role: str, prepare: Callable[[pl.LightningModule], None] | None = None,
                     task: DictConfig | None = None, reuse: bool = True) -> Path:
    """Train the C3D (``role="classifier"``, main partition), the robust C3D (``"classifier_robust"``,
    main partition, adversarial training with ``classifier.robust``'s settings), the VAE-domain C3D
    (``"classifier_vae"``, see :func:`train_vae_domain`) or the judge (``role="judge"``, judge partition);
    ``task`` replaces ``role``'s config, and ``reuse=False`` trains even where ``_Run.skip`` would reuse."""
    task = r.task(role) if task is None else task
    if reuse and r.skip(role, task):
        return r.ckpt(role)
    model, trainer, dm = r.fit(role, "judge" if role == "judge" else "main", prepare, task)
    path = r.ckpt(role)
    trainer.test(model, datamodule=dm, verbose=False)
    report = {"test_acc": float(trainer.callback_metrics.get("test/acc", float("nan"))),
              "confusion": model.test_confusion.tolist() if model.test_confusion is not None else None,
              "class_names": r.class_names}
    with atomic_path(path.with_suffix(".test.json")) as tmp:
        tmp.write_text(json.dumps(report))
    log.info("%s: test accuracy %.3f -> %s", role, report["test_acc"], path)
    return path


def train_autoencoder(r: "_Run") -> list[Path]:
    """The priors: the tempCAE, its denoising twin (``autoencoder.dae``) and the clip VAE (``vae``), those
    that a method uses; then the classifiers trained on the VAE's reconstructions (the temporal-shift 2D CNN
    ``classifier.tsm``, the still-frame 2D CNN ``classifier.still``, the VAE-domain C3D and the two-object C3D
    ``classifier.pair``)."""
    need = needed_checkpoints(r.cfg)
    paths = []
    for stage in [s for s in ("autoencoder", "autoencoder_dae", "vae") if s in need]:
        if not r.skip(stage, r.task(stage)):
            r.fit(stage, "main")
        paths.append(r.ckpt(stage))
    for role in ("classifier_tsm", "classifier_still"):  # 2D CNNs: real clips and the VAE's reconstructions, from scratch
        if role in need:
            paths.append(train_classifier(r, role, _rendered_prepare(r, role, [])))
    if need & {"classifier_vae", "classifier_vae_plain"}:
        paths += train_vae_domain(r)
    if "classifier_pair" in need:  # the two-object C3D: composites of real clips and the VAE's reconstructions
        paths.append(train_classifier(r, "classifier_pair", _rendered_prepare(r, "classifier_pair", [])))
    return paths


def train_vae_domain(r: "_Run") -> list[Path]:
    """The VAE-domain C3D (ours): the ``classifier.vae_domain.init`` checkpoint's network, trained further
    (``classifier.vae_domain``) on main-partition clips of which ``generator_mix`` are replaced by the clip
    VAE's reconstructions (:class:`videogen3d.tasks.classifier.VideoClassifier`), with the clips of
    ``classifier.vae_domain.negatives`` as negatives (no class) where set. Trained in stage autoencoder, after
    the clip VAE, since it needs both.

    With ``introspection.rounds`` (introspective negatives: Tu 2007; Lazarow et al. 2017; Lee et al. 2018), that
    C3D is kept as ``classifier_vae_plain``; then each round, ``introspection.method`` makes videos of every
    class guided by the VAE-domain C3D as it stands (the plain one first; ``negatives/round<k>/``), and the
    C3D is trained again from ``init`` with all rounds' videos as negatives -> ``classifier_vae``. With
    ``introspection.max_val_drop`` a round after which its accuracy on the real clips of the validation split is
    more than that below the plain C3D's is refused: the last kept round's weights (the plain C3D's for round 1)
    stay, the refusal is recorded in the checkpoint and its ``.test.json``, and no further round runs."""
    need = needed_checkpoints(r.cfg)
    paths = []
    if "classifier_vae_plain" in need:
        paths.append(train_classifier(r, "classifier_vae_plain", _rendered_prepare(r, "classifier_vae_plain", [])))
    if "classifier_vae" not in need:
        return paths
    intro, task = introspection(r.cfg), r.task("classifier_vae")
    if intro is None:
        return paths + [train_classifier(r, "classifier_vae", _rendered_prepare(r, "classifier_vae", []))]
    if r.skip("classifier_vae", task):
        return paths + [r.ckpt("classifier_vae")]
    bank: list[torch.Tensor] = []
    max_drop = intro.get("max_val_drop")
    kept = _weights_and_report(r.ckpt("classifier_vae_plain")) if max_drop is not None else None
    plain_val = val_accuracy(r, "classifier_vae_plain") if max_drop is not None else None
    for k in range(1, int(intro["rounds"]) + 1):
        bank.append(_negative_round(r, intro, k, "classifier_vae_plain" if k == 1 else "classifier_vae"))
        with open_dict(task):  # a round's checkpoint records its round: an unfinished run's is never the last
            task.introspection.round = k
        train_classifier(r, "classifier_vae", _rendered_prepare(r, "classifier_vae", bank), task, reuse=False)
        if max_drop is None:
            continue
        val = val_accuracy(r, "classifier_vae")
        if val >= plain_val - float(max_drop):
            log.info("classifier_vae: introspective round %d kept: validation accuracy on real clips %.3f (the plain "
                     "C3D's %.3f)", k, val, plain_val)
            kept = _weights_and_report(r.ckpt("classifier_vae"))
            continue
        _refuse_round(r, kept, k, int(intro["rounds"]), val, plain_val, float(max_drop))
        break
    return paths + [r.ckpt("classifier_vae")]


def val_accuracy(r: "_Run", stage: str) -> float:
    """A C3D checkpoint's accuracy on the real clips of the main partition's validation split."""
    model = load_classifier(r.ckpt(stage), r.geometry, overrides=r.overrides, what=f"C3D ({stage})", stage="autoencoder")
    trainer = r.trainer(f"{stage}_val", enable_progress_bar=False, enable_model_summary=False)
    trainer.validate(model, datamodule=r.datamodule("main"), verbose=False)
    return float(trainer.callback_metrics["val/acc"])


def _weights_and_report(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A C3D checkpoint's weights and its test report (``.test.json``)."""
    return safe_load(path, path.stem)["state_dict"], json.loads(path.with_suffix(".test.json").read_text())


def _refuse_round(r: "_Run", kept: tuple[dict[str, torch.Tensor], dict[str, Any]], k: int, rounds: int, val: float, plain_val: float,
                  max_drop: float) -> None:
    """Round ``k`` lowered the VAE-domain C3D's validation accuracy on real clips by more than ``max_drop`` below
    the plain C3D's: its negatives taught it to refuse real clips of some class. The checkpoint gets the weights
    of the last round kept (the plain C3D's for round 1) and records the refusal; later rounds are not run. It
    keeps the settings of the finished run (its last round), so that ``stage=all`` reuses it."""
    path = r.ckpt("classifier_vae")
    ckpt = safe_load(path, "classifier_vae")
    ckpt["state_dict"] = kept[0]
    ckpt["data_config"]["introspection"]["round"] = rounds
    refusal = {"refused_round": k, "kept_round": k - 1, "val_acc": val, "plain_val_acc": plain_val,
               "max_val_drop": max_drop}
    ckpt["introspection_refused"] = refusal
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    report = kept[1] | {"introspection_refused": refusal}  # the kept weights' test accuracy and confusion
    with atomic_path(path.with_suffix(".test.json")) as tmp:
        tmp.write_text(json.dumps(report))
    log.warning("classifier_vae: introspective round %d refused: validation accuracy on real clips %.3f, more than "
                "%.2f below the plain C3D's %.3f (its negatives taught it to refuse real clips); the weights of round "
                "%d are kept%s", k, val, max_drop, plain_val, k - 1, " (the plain C3D's)" if k == 1 else "")


def _rendered_prepare(r: "_Run", stage: str, bank: list[torch.Tensor]) -> Callable[[pl.LightningModule], None]:
    """Load ``init``'s weights (none: from scratch), render through the clip VAE, and take the negatives: ``bank``
    (the introspective rounds' videos) and ``classifier.vae_domain.negatives``'s file (not for the plain C3D);
    also the two-object C3D's (``classifier_pair``, which has neither)."""
    task = r.task(stage)
    start_from = _start_from(r, str(task.init)) if task.get("init") else None

    def prepare(model: pl.LightningModule) -> None:
        if start_from is not None:  # init null: trained from scratch
            start_from(model)
        vae = load_vae(r.ckpt("vae"), r.geometry, overrides=r.overrides)
        model.use_generator(lambda x: vae.to(x.device).net(x)[0])
        negatives = list(bank)
        if task.get("negatives"):
            if not Path(str(task.negatives)).is_file():
                raise FileNotFoundError(f"classifier.vae_domain.negatives={str(task.negatives)!r}: no such file (a "
                                        f"videos.pt that python synth.py stage=synthesis writes)")
            negatives.append(safe_load(str(task.negatives), "negative clips")["videos"])
        if negatives:
            model.use_negatives(torch.cat(negatives))

    return prepare


def _negative_round(r: "_Run", intro: dict[str, Any], k: int, guide: str) -> torch.Tensor:
    """Round ``k``'s negatives: ``intro["method"]``'s videos, ``videos_per_target`` of every class, with ``guide``
    in classifier_vae's place, ``iterations`` steps, seed ``seed + k - 1``; written to ``negatives/round<k>/``."""
    spec = intro["spec"]
    kwargs = synthesis_kwargs(OmegaConf.to_container(r.cfg.synthesis, resolve=True), spec)
    kwargs |= {"iterations": int(intro["iterations"]), "seed": int(intro.get("seed", 0)) + k - 1}
    targets, names = parse_targets(["all"], r.class_names, int(intro["videos_per_target"]))
    module, seconds = optimise(r, Networks(r), spec, kwargs, targets, f"negatives_round{k}", {"classifier_vae": guide})
    videos = module.synthesized().detach().float().cpu().clamp(-1, 1)
    out = r.work_dir / "negatives" / f"round{k}"
    write_synthesis(out, videos, names, targets, {"method": intro["method"], "guide": guide, "round": k,
                    "seconds": seconds} | kwargs, r.class_names, mp4=False)
    log.info("classifier_vae: introspective round %d of %d: %d negatives by %s guided by %s in %.1f s -> %s", k,
             intro["rounds"], len(videos), intro["method"], guide, seconds, out / "grid.png")
    return videos


def negatives_identity(r: "_Run", task: DictConfig) -> dict:
    """The VAE-domain C3D's negatives, recorded in its checkpoint's data settings so that other ones train it
    again: ``negatives`` (the file's path, size and mtime) and ``introspection`` (the rounds' settings, the
    method's definition, the plain C3D the rounds start from and the other checkpoints their method uses);
    ``{}`` for a task without either."""
    out: dict[str, Any] = {}
    if task.get("negatives"):
        neg = Path(str(task.negatives))
        out["negatives"] = [str(neg)] + (checkpoint_identity(neg) if neg.is_file() else [])
    intro = introspection(r.cfg) if task.get("introspection") else None
    if intro:
        plain = r.ckpt("classifier_vae_plain")
        # the other networks that make the rounds' videos (the robust C3D, the clip VAE): a retrained one makes
        # other negatives, so the C3D trained on them is trained again
        guides = sorted(checkpoints_used(intro["spec"]) - {"classifier_vae"})
        out["introspection"] = intro | {"round": int(task.introspection.get("round", intro["rounds"])),
                                        "plain": checkpoint_identity(plain) if plain.is_file() else None,
                                        "guides": {g: checkpoint_identity(r.ckpt(g)) if r.ckpt(g).is_file() else None
                                                   for g in guides}}
    return out
