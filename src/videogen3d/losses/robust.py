"""Adversarial examples for training a robust C3D (ours, not the seed's).

Santurkar et al. (2019, "Image Synthesis with a Single (Robust) Classifier") show that a classifier
trained on adversarial examples (Madry et al. 2018: projected gradient descent, PGD, inside a small
ball around each input) has input gradients that point toward features a person sees as the class,
so plain gradient steps on its input make recognisable images rather than adversarial noise.
:func:`pgd_attack` makes those training inputs; :class:`videogen3d.tasks.classifier.VideoClassifier`
uses it when ``adv_eps > 0``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["ADV_NORMS", "check_adversarial", "pgd_attack"]

ADV_NORMS = ("linf", "l2")


def check_adversarial(eps: float, steps: int, norm: str, key: str = "classifier") -> None:
    """Refuse a bad setting, naming its key (``<key>.adv_eps`` etc.)."""
    if norm not in ADV_NORMS:
        raise ValueError(f"{key}.adv_norm={norm!r} is unknown; expected one of {ADV_NORMS}")
    if not eps >= 0:
        raise ValueError(f"{key}.adv_eps={eps!r} must be >= 0 (0: standard training)")
    if eps > 0 and int(steps) < 1:
        raise ValueError(f"{key}.adv_steps={steps!r} must be >= 1 when adv_eps={eps} > 0")


def _per_item_norm(g: torch.Tensor) -> torch.Tensor:
    return g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / _per_item_norm(delta)).clamp(max=1.0)


def pgd_attack(loss_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float, steps: int,
               norm: str = "linf", step_size: float | None = None) -> torch.Tensor:
    """A PGD adversarial example for ``x (N, ...)`` in [-1, 1]: ``steps`` ascent steps on ``loss_fn``
    (a scalar, summed over the batch) from a random start in the ``norm`` ball of radius ``eps``,
    each projected back into the ball and into [-1, 1]. One step with ``step_size = 1.25 eps`` is
    "fast" FGSM with a random start (Wong et al. 2020). Returns a detached tensor."""
    check_adversarial(eps, steps, norm)
    if eps == 0:
        return x.detach()
    alpha = float(step_size) if step_size else (1.25 * eps if steps == 1 else 2.5 * eps / steps)
    if norm == "linf":
        delta = (torch.rand_like(x) * 2 - 1) * eps
    else:
        delta = torch.randn_like(x)
        delta = delta / _per_item_norm(delta) * eps * torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device)
    delta = ((x + delta).clamp(-1, 1) - x).detach()
    for _ in range(int(steps)):
        delta.requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(x + delta), delta)
        step = g.sign() if norm == "linf" else g / _per_item_norm(g)
        delta = _project(delta.detach() + alpha * step, eps, norm)
        delta = ((x + delta).clamp(-1, 1) - x).detach()
    return (x + delta).detach()


def cross_entropy_sum(net: Callable[[torch.Tensor], torch.Tensor], labels: torch.Tensor):
    """``loss_fn`` for :func:`pgd_attack`: the summed cross-entropy of ``net`` on ``labels``."""
    return lambda v: F.cross_entropy(net(v), labels, reduction="sum")
