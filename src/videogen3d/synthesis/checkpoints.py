"""Where the synthesis stages keep their checkpoints, and loading them with clear refusals.

Every stage writes to a fixed path under the work dir (``checkpoints/<stage>.ckpt``), so a later
stage finds an earlier one without being told. A missing checkpoint is reported with its path and
the command that makes it; a checkpoint trained on other clips (frame size, clip length or
classes) is refused with both geometries named.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from videogen3d.tasks.autoencoder import TempCAEModule
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.utils.io import atomic_path

__all__ = ["CHECKPOINTS", "MissingCheckpointError", "GeometryMismatchError", "stage_checkpoint", "stage_command",
           "save_checkpoint", "load_classifier", "load_autoencoder", "describe_geometry"]

CHECKPOINTS = {"classifier": "checkpoints/classifier.ckpt", "autoencoder": "checkpoints/autoencoder.ckpt",
               "autoencoder_dae": "checkpoints/autoencoder_dae.ckpt", "judge": "checkpoints/judge.ckpt"}


class MissingCheckpointError(FileNotFoundError):
    """A stage's checkpoint is not there; the message names the path and the command that makes it."""


class GeometryMismatchError(ValueError):
    """A checkpoint was trained on clips unlike the requested ones; the message names both."""


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
    model = VideoClassifier.load_from_checkpoint(path, map_location="cpu", weights_only=False)
    _check(what, path, model.geometry, want, ("clip_len", "frame_size", "class_names"))
    return model.eval()


def load_autoencoder(path: str | os.PathLike, want: dict[str, Any], *, overrides: Sequence[str] = (),
                     what: str = "tempCAE (autoencoder)") -> TempCAEModule:
    """Load the tempCAE; its frame size must match and its window CS must fit the requested clip length."""
    path = Path(path)
    _require(path, what, "autoencoder", overrides)
    model = TempCAEModule.load_from_checkpoint(path, map_location="cpu", weights_only=False)
    have = model.geometry
    _check(what, path, have, want, ("frame_size",))
    if have["cs"] > int(want["clip_len"]):
        raise GeometryMismatchError(
            f"tempCAE checkpoint {str(path)!r} has windows of CS={have['cs']} frames, longer than the requested "
            f"clips of {want['clip_len']} frames")
    return model.eval()
