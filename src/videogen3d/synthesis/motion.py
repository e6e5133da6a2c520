"""Which networks read a moving object's direction from its motion, and which from the way it points (ours).

Every moving-objects class but ``balloon_up`` has a twin that differs only in its direction (``car_right`` /
``car_left``, ``rocket_up`` / ``rocket_down``, ...): the twin's sprite is mirrored and its path reversed. So each
real clip of those ten classes can be read in four versions:

- ``clip``: as rendered;
- ``mirror``: flipped along the motion axis, a real clip of the twin class (a check that the network knows both);
- ``reverse``: played backwards: the object points the class's way and moves the twin's;
- ``mirror+reverse``: it points the twin's way and moves the class's.

For each network this prints the share of the clips it reads as their class, as the twin, or as another class. A
network that reads the motion reads ``reverse`` as the twin and ``mirror+reverse`` as the class; one that reads each
frame alone (the reader ``check5``, the guide ``classifier_still``) the other way round. The networks are the held-out
readers in ``--readers`` and the pipeline's checkpoints in ``--checkpoints`` (each of ``classifier``,
``classifier_robust``, ``classifier_vae``, ``classifier_tsm``, ``classifier_still`` and ``judge`` that is there); the
clips are rendered from seed 8, at the networks' geometry::

    python -m videogen3d.synthesis.motion --readers logs/readers --checkpoints logs/synth/cpu/checkpoints
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.checkpoints import load_module
from videogen3d.synthesis.readers import load_readers, real_clips_by_class
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.utils.entry import run_main
from videogen3d.utils.io import write_json

__all__ = ["TRANSFORMS", "twin", "motion_reading", "main"]

CHECKPOINTS = ("classifier", "classifier_robust", "classifier_vae", "classifier_tsm", "classifier_still", "judge")
_OPPOSITE = {"right": "left", "left": "right", "up": "down", "down": "up"}


def twin(name: str) -> str | None:
    """The class that differs from ``name`` only in direction, or None (``balloon_up``)."""
    kind, heading = name.split("_")
    other = f"{kind}_{_OPPOSITE[heading]}"
    return other if other in CLASS_NAMES else None


def _mirror(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x (N, C, T, H, W)`` flipped along the motion axis of class ``name``."""
    return x.flip(-1) if name.split("_")[1] in ("right", "left") else x.flip(-2)


TRANSFORMS: dict[str, Callable[[torch.Tensor, str], torch.Tensor]] = {
    "clip": lambda x, name: x,
    "mirror": _mirror,
    "reverse": lambda x, name: x.flip(2),
    "mirror+reverse": lambda x, name: _mirror(x, name).flip(2),
}


@torch.no_grad()
def motion_reading(net: nn.Module, clips: dict[int, torch.Tensor]) -> dict[str, dict[str, float]]:
    """For each transform of :data:`TRANSFORMS`, the shares of ``clips`` (class index -> real clips ``(n, C, T, H, W)``
    in [-1, 1], classes with a twin only) that ``net`` reads as their class, as its twin, or as another class."""
    out = {}
    for t, f in TRANSFORMS.items():
        counts = torch.zeros(3)
        for k, x in clips.items():
            name = CLASS_NAMES[k]
            pred = net(f(x, name)).argmax(1)
            other = CLASS_NAMES.index(twin(name))
            counts += torch.stack([(pred == k).sum(), (pred == other).sum(), ((pred != k) & (pred != other)).sum()])
        share = counts / counts.sum()
        out[t] = {"class": float(share[0]), "twin": float(share[1]), "other": float(share[2])}
    return out


def _networks(readers: Path | None, checkpoints: Path | None) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {}
    if readers is not None:
        nets |= load_readers(readers)
    if checkpoints is not None:
        for n in CHECKPOINTS:
            if (checkpoints / f"{n}.ckpt").is_file():
                nets[n] = load_module(checkpoints / f"{n}.ckpt", n, VideoClassifier, f"python synth.py (it makes {n})").eval()
    where = " or ".join(f"{str(p)!r}" for p in (readers, checkpoints) if p is not None)
    if not nets:
        raise FileNotFoundError(f"no reader weights (check*.pt) or pipeline checkpoints "
                                f"({', '.join(c + '.ckpt' for c in CHECKPOINTS)}) "
                                f"in {where or 'nothing: give --readers and/or --checkpoints'}")
    return nets


def _geometry(net: nn.Module) -> tuple[int, tuple[int, int]]:
    g = getattr(net, "geometry", None)
    t, hw = (g["clip_len"], g["frame_size"]) if g is not None else (net.clip_len, net.frame_size)
    return int(t), (int(hw[0]), int(hw[1]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videogen3d.synthesis.motion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=Path, default=None, help="the folder that readers train wrote")
    parser.add_argument("--checkpoints", type=Path, default=None, help="a run's work_dir/checkpoints")
    parser.add_argument("--clips-per-class", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="also write the shares here")
    args = parser.parse_args(argv)
    if args.clips_per_class < 1:
        parser.error(f"--clips-per-class {args.clips_per_class}: expected a whole number >= 1")
    nets = _networks(args.readers, args.checkpoints)
    geometries = {n: _geometry(net) for n, net in nets.items()}
    if len(set(geometries.values())) > 1:
        raise ValueError(f"the networks read clips of different geometries (frames, (H, W)): {geometries}")
    clip_len, frame_size = next(iter(geometries.values()))
    classes = [k for k, n in enumerate(CLASS_NAMES) if twin(n) is not None]
    clips = real_clips_by_class(frame_size, clip_len, args.clips_per_class, 8, classes)
    print(f"{args.clips_per_class} real clips of each of the {len(classes)} classes with a twin (render seed 8), read as "
          f"class / twin / other:", flush=True)
    readings: dict[str, Any] = {}
    for name, net in nets.items():
        readings[name] = r = motion_reading(net, clips)
        print(f"{name:18s} " + "  ".join(f"{t} {v['class']:.2f} / {v['twin']:.2f} / {v['other']:.2f}"
                                         for t, v in r.items()), flush=True)
    if args.json is not None:
        write_json(readings, args.json)
    return 0


if __name__ == "__main__":
    run_main(main, "videogen3d.synthesis.motion")
