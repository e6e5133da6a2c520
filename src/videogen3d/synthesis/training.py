"""The training stages of :mod:`videogen3d.synthesis.stages`: the C3Ds (standard, robust, VAE-domain), the
tempCAEs and the clip VAE, and the judge, each trained only when a method of ``synthesis.methods`` needs it
(or reused, see ``_Run.skip``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytorch_lightning as pl

from videogen3d.synthesis.checkpoints import checkpoint_identity, load_classifier, load_vae, safe_load
from videogen3d.synthesis.methods import needed_checkpoints
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


def train_classifier(r: "_Run", role: str, prepare: Callable[[pl.LightningModule], None] | None = None) -> Path:
    """Train the C3D (``role="classifier"``, main partition), the robust C3D (``"classifier_robust"``,
    main partition, adversarial training with ``classifier.robust``'s settings), the VAE-domain C3D
    (``"classifier_vae"``, see :func:`_train_vae_domain`) or the judge (``role="judge"``, judge partition)."""
    if r.skip(role, r.task(role)):
        return r.ckpt(role)
    model, trainer, dm = r.fit(role, "judge" if role == "judge" else "main", prepare)
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
    that a method uses."""
    need = needed_checkpoints(r.cfg)
    paths = []
    for stage in [s for s in ("autoencoder", "autoencoder_dae", "vae") if s in need]:
        if not r.skip(stage, r.task(stage)):
            r.fit(stage, "main")
        paths.append(r.ckpt(stage))
    if "classifier_vae" in need:
        paths.append(train_vae_domain(r))
    return paths


def train_vae_domain(r: "_Run") -> Path:
    """The VAE-domain C3D (ours): the ``classifier.vae_domain.init`` checkpoint's network, trained further
    (``classifier.vae_domain``) on main-partition clips of which ``generator_mix`` are replaced by the clip
    VAE's reconstructions (:class:`videogen3d.tasks.classifier.VideoClassifier`). Trained in stage
    autoencoder, after the clip VAE, since it needs both."""
    start_from = _start_from(r, str(r.task("classifier_vae").init))

    def prepare(model: pl.LightningModule) -> None:
        start_from(model)
        vae = load_vae(r.ckpt("vae"), r.geometry, overrides=r.overrides)
        model.use_generator(lambda x: vae.to(x.device).net(x)[0])
        negatives = r.task("classifier_vae").get("negatives")
        if negatives:
            if not Path(str(negatives)).is_file():
                raise FileNotFoundError(f"classifier.vae_domain.negatives={str(negatives)!r}: no such file (a videos.pt "
                                        f"that python synth.py stage=synthesis writes)")
            model.use_negatives(safe_load(str(negatives), "negative clips")["videos"])

    return train_classifier(r, "classifier_vae", prepare)


def negatives_identity(task) -> dict:
    """``{"negatives": [path, size, mtime]}`` for a task with ``negatives`` (the VAE-domain C3D's negative clips),
    recorded in its checkpoint's data settings so that another file trains it again; ``{}`` without."""
    if not task.get("negatives"):
        return {}
    neg = Path(str(task.negatives))
    return {"negatives": [str(neg)] + (checkpoint_identity(neg) if neg.is_file() else [])}
