"""How robust a classifier checkpoint is (ours): its accuracy on real clips, clean and under attack.

The robust C3D (``classifier.robust`` in ``conf/synth/classifier/c3d.yaml``) is trained with single-step FGSM
from a random start (Wong et al. 2020). At a large radius such training can overfit catastrophically: the network
becomes robust to the one step it was trained on but not to a multi-step attack, and its input gradient is masked,
which would make it useless as a guide for synthesis. This command tells the two apart: for each checkpoint of a
:class:`~videogen3d.tasks.classifier.VideoClassifier` (any of the pipeline's C3Ds or the judge) it renders fresh real
moving-objects clips at the checkpoint's geometry (seed 21 by default, a stream that no network of the pipeline or
the readers trains on) and prints the accuracy on them clean, under FGSM with a random start and under PGD
(:func:`~videogen3d.losses.robust.pgd_attack`), with the class that PGD hurts most::

    python -m videogen3d.synthesis.robustness logs/synth/cpu/checkpoints/classifier.ckpt logs/synth/cpu/checkpoints/classifier_robust.ckpt

A sound robust C3D keeps most of its FGSM accuracy under PGD; a standard one falls to near 0 under both.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.losses.robust import ADV_NORMS, cross_entropy_sum, pgd_attack
from videogen3d.synthesis.checkpoints import load_module
from videogen3d.synthesis.readers import real_clips_by_class
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.utils.entry import run_main
from videogen3d.utils.io import write_json

__all__ = ["attack_accuracy", "robustness", "main"]


def attack_accuracy(net: torch.nn.Module, clips: torch.Tensor, labels: torch.Tensor, eps: float, steps: int,
                    norm: str = "linf", batch_size: int = 64) -> torch.Tensor:
    """Whether ``net`` reads each of ``clips (N, C, T, H, W)`` in [-1, 1] as its label after a PGD attack of
    ``steps`` steps in the ``norm`` ball of radius ``eps`` (``eps`` 0: the clean clips): ``bool (N,)``."""
    net.eval()
    hits = []
    for x, y in zip(clips.split(batch_size), labels.split(batch_size)):
        adv = pgd_attack(cross_entropy_sum(net, y), x, eps, steps, norm) if eps > 0 else x
        with torch.no_grad():
            hits.append(net(adv).argmax(1) == y)
    return torch.cat(hits)


@functools.lru_cache(maxsize=4)
def _real_clips(frame_size: tuple[int, int], clip_len: int, clips_per_class: int, seed: int) -> torch.Tensor:
    """Every class's real clips, class-major, rendered once per geometry (several checkpoints share them)."""
    by_class = real_clips_by_class(frame_size, clip_len, clips_per_class, seed)
    return torch.cat([by_class[k] for k in range(len(CLASS_NAMES))])


def robustness(model: VideoClassifier, *, eps: float, steps: int, norm: str = "linf", clips_per_class: int = 20,
               seed: int = 21) -> dict[str, Any]:
    """``model``'s accuracy on ``clips_per_class`` fresh real clips per class (rendered from ``seed``): clean,
    FGSM (one step from a random start) and PGD-``steps``, and the class with the lowest PGD accuracy."""
    geo = model.geometry
    names = list(geo["class_names"])
    if names != list(CLASS_NAMES):
        raise ValueError(f"the classifier reads classes {names}, not the moving-objects classes {list(CLASS_NAMES)} "
                         f"that this command renders")
    clips = _real_clips(tuple(geo["frame_size"]), int(geo["clip_len"]), clips_per_class, seed)
    labels = torch.arange(len(names)).repeat_interleave(clips_per_class)
    torch.manual_seed(seed)  # the attacks' random starts
    out: dict[str, Any] = {"clips": len(clips), "eps": eps, "norm": norm, "steps": steps, "seed": seed,
                           "clean": float(attack_accuracy(model, clips, labels, 0.0, 1, norm).float().mean()),
                           "fgsm": float(attack_accuracy(model, clips, labels, eps, 1, norm).float().mean())}
    pgd = attack_accuracy(model, clips, labels, eps, steps, norm).float()
    per_class = pgd.view(len(names), clips_per_class).mean(1)
    out.update(pgd=float(pgd.mean()), pgd_per_class=dict(zip(names, per_class.tolist())),
               weakest=names[int(per_class.argmin())])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videogen3d.synthesis.robustness", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", type=Path, nargs="+", help="VideoClassifier checkpoints (e.g. classifier_robust.ckpt)")
    parser.add_argument("--eps", type=float, default=0.1, help="attack radius on [-1, 1] inputs (default 0.1, the "
                                                                "robust C3D's adv_eps)")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps (default 10)")
    parser.add_argument("--norm", default="linf", choices=ADV_NORMS)
    parser.add_argument("--clips-per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=21, help="render seed of the real clips (default 21)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    if not args.eps > 0:
        parser.error(f"--eps {args.eps}: expected a radius > 0")
    for opt in ("steps", "clips_per_class"):
        if getattr(args, opt) < 1:
            parser.error(f"--{opt.replace('_', '-')} {getattr(args, opt)}: expected a whole number >= 1")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: expected a whole number >= 0")
    results: dict[str, dict[str, Any]] = {}
    for path in args.checkpoints:
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
        model = load_module(path, "classifier", VideoClassifier, "python synth.py stage=classifier ...")
        r = results[str(path)] = robustness(model, eps=args.eps, steps=args.steps, norm=args.norm,
                                            clips_per_class=args.clips_per_class, seed=args.seed)
        print(f"{path}: clean {r['clean']:.3f}, FGSM {r['fgsm']:.3f}, PGD-{r['steps']} {r['pgd']:.3f} ({r['norm']} eps "
              f"{r['eps']}, {r['clips']} real clips, seed {r['seed']}); weakest under PGD: {r['weakest']} "
              f"{r['pgd_per_class'][r['weakest']]:.2f}", flush=True)
    if args.json is not None:
        write_json(results, args.json)
    return 0


if __name__ == "__main__":
    run_main(main, "videogen3d.synthesis.robustness")
