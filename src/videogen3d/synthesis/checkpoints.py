"""Where the synthesis stages keep their checkpoints, and loading them with clear refusals.

Every stage writes to a fixed path under the work dir (``checkpoints/<stage>.ckpt``), so a later
stage finds an earlier one without being told. A missing checkpoint is reported with its path and
the command that makes it; a checkpoint trained on other clips (frame size, clip length or
classes) is refused with both geometries named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from videogen3d.tasks.autoencoder import TempCAEModule
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.tasks.vae import ClipVAEModule
from videogen3d.utils.io import atomic_path, load_tensors_only

__all__ = ["CHECKPOINTS", "CheckpointError", "MissingCheckpointError", "GeometryMismatchError", "RefusedCheckpointError",
           "stage_checkpoint", "stage_command", "save_checkpoint", "load_classifier", "load_autoencoder", "load_vae", "describe_geometry", "safe_load", "MODULE_CONFIG_KEY", "ModuleConfigInCheckpoint", "load_module",
           "changed_settings", "checkpoint_identity"]

DATA_CONFIG_KEY = "data_config"  # a task's own data settings (vae.clips_per_class), kept in its checkpoint
MODULE_CONFIG_KEY = "module_config"  # the module's resolved config node (with _target_), kept in its checkpoint

CHECKPOINTS = {"classifier": "checkpoints/classifier.ckpt", "autoencoder": "checkpoints/autoencoder.ckpt",
               "autoencoder_dae": "checkpoints/autoencoder_dae.ckpt", "judge": "checkpoints/judge.ckpt",
               "classifier_robust": "checkpoints/classifier_robust.ckpt", "vae": "checkpoints/vae.ckpt",
               "classifier_vae": "checkpoints/classifier_vae.ckpt",
               "classifier_vae_plain": "checkpoints/classifier_vae_plain.ckpt",
               "classifier_pair": "checkpoints/classifier_pair.ckpt", "classifier_tsm": "checkpoints/classifier_tsm.ckpt",
               "classifier_still": "checkpoints/classifier_still.ckpt"}


class CheckpointError(Exception):
    """A checkpoint refused: the message names the file and what to do; ``synth.py`` prints it as one line."""


class MissingCheckpointError(CheckpointError, FileNotFoundError):
    """A stage's checkpoint is not there; the message names the path and the command that makes it."""


class GeometryMismatchError(CheckpointError, ValueError):
    """A checkpoint was trained on clips unlike the requested ones; the message names both."""


class RefusedCheckpointError(CheckpointError, ValueError):
    """A file that is not a checkpoint this code can load: damaged, not a torch checkpoint, holding objects
    other than tensors, saved by an older version, or of another module."""


def safe_load(path: str | os.PathLike, what: str) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never arbitrary
    pickled objects; a file that needs more is refused, naming it, and so is one that is not a readable
    checkpoint at all (empty, cut short, or another kind of file): a :class:`RefusedCheckpointError` (a
    ``ValueError``) naming the file, never a traceback from deep inside ``torch.load``
    (:func:`videogen3d.utils.io.load_tensors_only`)."""
    return load_tensors_only(path, what, RefusedCheckpointError)


class ModuleConfigInCheckpoint(pl.Callback):
    """Keeps the resolved config node that built the module (network and optimizer included) in each
    checkpoint, so that :func:`load_module` rebuilds it with ``instantiate`` and loads its weights."""

    def __init__(self, module_config: DictConfig | dict[str, Any], data: dict[str, Any] | None = None) -> None:
        cfg = OmegaConf.to_container(module_config, resolve=True) if OmegaConf.is_config(module_config) else module_config
        self.module_config = dict(cfg)  # type: ignore[arg-type]
        self.data = dict(data or {})  # data settings of the task's own (e.g. the VAE's clips_per_class)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint[MODULE_CONFIG_KEY] = self.module_config
        if self.data:
            checkpoint[DATA_CONFIG_KEY] = self.data


def load_module(path: str | os.PathLike, what: str, expected: type[pl.LightningModule], command: str) -> Any:
    """Rebuild a module from its checkpoint's config node and load its weights (``weights_only``)."""
    ckpt = safe_load(path, f"{what} checkpoint")
    node = ckpt.get(MODULE_CONFIG_KEY) if isinstance(ckpt, dict) else None
    if not isinstance(node, dict) or "_target_" not in node:
        raise RefusedCheckpointError(f"{what} checkpoint {str(path)!r} holds no module config ({MODULE_CONFIG_KEY!r}); "
                                     f"it was saved by an older version or another program: train it again with: {command}")
    module = instantiate(node, _convert_="all")
    if not isinstance(module, expected):
        raise RefusedCheckpointError(f"{what} checkpoint {str(path)!r} builds a {type(module).__name__}, not a "
                                     f"{expected.__name__}")
    try:
        module.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError) as err:  # no weights, or weights of another shape than its own config builds
        first = (str(err).splitlines() or [""])[0]
        raise RefusedCheckpointError(f"{what} checkpoint {str(path)!r}: its weights do not load into the module its "
                                     f"config builds ({type(err).__name__}: {first}); train it again with: "
                                     f"{command}") from None
    return module


def stage_checkpoint(work_dir: str | os.PathLike, stage: str) -> Path:
    if stage not in CHECKPOINTS:
        raise ValueError(f"no checkpoint for stage {stage!r}; stages with checkpoints: {list(CHECKPOINTS)}")
    return Path(work_dir) / CHECKPOINTS[stage]


def stage_command(stage: str, overrides: Sequence[str] = ()) -> str:
    """The command line that runs ``stage`` with the caller's other overrides (``stage=`` replaced)."""
    kept = [o for o in overrides if not o.split("=", 1)[0].lstrip("+~") == "stage"]
    return " ".join(["python synth.py", f"stage={stage}", *kept])


def save_checkpoint(trainer: pl.Trainer, path: str | os.PathLike) -> Path:
    """``trainer.save_checkpoint`` to a temporary name, then rename (never a half-written checkpoint)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        trainer.save_checkpoint(tmp)
    return path


def describe_geometry(g: dict[str, Any]) -> str:
    h, w = g["frame_size"]
    parts = [f"{g['clip_len']} frames of {w}x{h} (WxH)"] if "clip_len" in g else [f"frames of {w}x{h} (WxH)"]
    if "class_names" in g:
        parts.append(f"{len(g['class_names'])} classes")
    if "cs" in g:
        parts.append(f"CS={g['cs']}")
    return ", ".join(parts)


def _require(path: Path, what: str, stage: str, overrides: Sequence[str]) -> None:
    if not path.is_file():
        raise MissingCheckpointError(
            f"{what} checkpoint not found at {str(path)!r}; make it with: {stage_command(stage, overrides)}")


def _check(what: str, path: Path, have: dict[str, Any], want: dict[str, Any], keys: Sequence[str]) -> None:
    norm = {"frame_size": lambda v: [int(x) for x in v], "class_names": list, "clip_len": int}
    if any(norm[k](have[k]) != norm[k](want[k]) for k in keys):
        raise GeometryMismatchError(
            f"{what} checkpoint {str(path)!r} was trained on {describe_geometry({k: have[k] for k in keys})}, "
            f"but the requested clips are {describe_geometry({k: want[k] for k in keys})}; retrain it for these "
            f"clips or request the checkpoint's geometry")


def load_classifier(path: str | os.PathLike, want: dict[str, Any], *, what: str = "classifier",
                    stage: str = "classifier", overrides: Sequence[str] = ()) -> VideoClassifier:
    """Load a :class:`VideoClassifier` (eval mode, CPU) and refuse it unless it matches ``want``
    (``clip_len``, ``frame_size`` (H, W), ``class_names``)."""
    path = Path(path)
    _require(path, what, stage, overrides)
    model = load_module(path, what, VideoClassifier, stage_command(stage, overrides))
    _check(what, path, model.geometry, want, ("clip_len", "frame_size", "class_names"))
    return model.eval()


def load_autoencoder(path: str | os.PathLike, want: dict[str, Any], *, overrides: Sequence[str] = (),
                     what: str = "tempCAE (autoencoder)") -> TempCAEModule:
    """Load the tempCAE; its frame size must match and its window CS must fit the requested clip length."""
    path = Path(path)
    _require(path, what, "autoencoder", overrides)
    model = load_module(path, what, TempCAEModule, stage_command("autoencoder", overrides))
    have = model.geometry
    _check(what, path, have, want, ("frame_size",))
    if have["cs"] > int(want["clip_len"]):
        raise GeometryMismatchError(
            f"tempCAE checkpoint {str(path)!r} has windows of CS={have['cs']} frames, longer than the requested "
            f"clips of {want['clip_len']} frames")
    return model.eval()


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out |= _flat(v, f"{prefix}{k}.")
        return out
    return {prefix[:-1]: json.dumps(d, sort_keys=True) if isinstance(d, list) else d}


def changed_settings(path: str | os.PathLike, module_config: DictConfig, epochs: int,
                     data: dict[str, Any] | None = None) -> list[str]:
    """``key: saved -> wanted`` for each module setting that differs from the checkpoint's, for the
    epochs it was trained (a checkpoint saved after ``fit`` holds ``epoch == max_epochs``) and for the
    task's own data settings (``data``, e.g. the VAE's ``clips_per_class``)."""
    ckpt = safe_load(path, "checkpoint")
    out = [] if int(ckpt.get("epoch", -1)) == epochs else [f"epochs: {ckpt.get('epoch')!r} -> {epochs}"]
    saved = ckpt.get(DATA_CONFIG_KEY) or {}
    out += [f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in sorted((data or {}).items()) if saved.get(k) != v]
    have = _flat(ckpt.get(MODULE_CONFIG_KEY) or {})
    want = _flat(OmegaConf.to_container(module_config, resolve=True))
    for key in sorted(have.keys() | want.keys()):
        if have.get(key) != want.get(key) and not (isinstance(have.get(key), (int, float))
                                                   and isinstance(want.get(key), (int, float))
                                                   and float(have[key]) == float(want[key])):
            out.append(f"module.{key}: {have.get(key)!r} -> {want.get(key)!r}")
    return out


def load_vae(path: str | os.PathLike, want: dict[str, Any], *, overrides: Sequence[str] = (),
             what: str = "clip VAE (vae)") -> ClipVAEModule:
    """Load the clip VAE (made by stage autoencoder); its clip length and frame size must match."""
    path = Path(path)
    _require(path, what, "autoencoder", overrides)
    model = load_module(path, what, ClipVAEModule, stage_command("autoencoder", overrides))
    _check(what, path, model.geometry, want, ("clip_len", "frame_size"))
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def checkpoint_identity(path: Path) -> list[int]:
    """A checkpoint's size and modification time: a retrained checkpoint changes it."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]
