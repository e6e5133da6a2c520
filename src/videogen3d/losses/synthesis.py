"""The objectives of seed 003's pixel-space synthesis, and the target labels they aim at.

- eq. 6 / 9, the *target error*: cross-entropy between the target distribution ``Y`` and the
  C3D's softmax, ``-sum_θ Y(θ) log softmax(C3D(X))_θ``. (The seed's printed formula swaps
  the two factors; with a one-hot ``Y`` that would be undefined, so we use the standard
  cross-entropy its words describe.) A multi-label target (§5, Figure 6) spreads ``Y`` over
  several classes.
- eq. 7, the *decoded error*: :meth:`videogen3d.models.tempcae.TempCAE.decoded_error`.
- eq. 10, the L2-norm prior of the comparison method: ``||X||^2``.

Normalisation (ours; the seed gives none). Every term is per video ``(B,)``. Both squared terms
are the seed's sums (eq. 7 summed over all windows ``i``, eq. 10 over all pixels) divided by the
same constant, the video's pixel count ``P = C*T*H*W``. Read literally, the sums cannot be
what Table 1's η were used with: plain GD on ``η_norm ||X||^2`` with ``η_norm = 5`` maps
``X -> X - 10 X = -9 X`` and diverges. With ``/P`` a step moves each pixel by
``2 η / P`` of its residual, so ``η * iterations / P`` is the "flow time" of a prior: at the seed's
scale (P = 589,824, 50,000 iterations) the norm prior alone shrinks noise by
``exp(-2*5*50000/P) = 0.43`` and the tempCAE pull (CS = 4 windows per pixel, η = 10) by
``exp(-2*4*10*50000/P) ≈ 0.001``. A smaller scale that runs fewer iterations on fewer pixels
keeps the priors' dynamics by multiplying their η by ``eta_scale = (50000 / iterations) * (P / 589824)``.
The classifier's term is not a quadratic with a known curvature: its pixel gradient falls with
``P`` only roughly (its features pool over the frame), and a step ``eta_scale`` times larger can
leave plain GD's stable range. At the cpu scale it does (its RMS pixel gradient at the random
start is 0.011, so η_C3D = 125 moves a pixel by 1.4 per step), so ``eta_c3d_scale`` sets η_C3D's
factor apart (conf/synth/scale/cpu.yaml; by default it equals ``eta_scale`` and Table 1's ratios hold).
The table prints the η actually used and both factors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from videogen3d.data.transforms import ink_per_frame

__all__ = ["parse_target", "parse_targets", "target_error", "norm_error", "ink_error", "primary_labels"]


def parse_target(spec: str, class_names: Sequence[str]) -> torch.Tensor:
    """``"car_right"``, ``"car_right+rocket_up"`` or ``"car_right:2+rocket_up:1"`` -> a distribution ``(K,)``.

    Labels joined by ``+`` share the target equally unless ``:weight`` says otherwise.
    """
    names = list(class_names)
    y = torch.zeros(len(names))
    parts = [p.strip() for p in str(spec).split("+")]
    for part in parts:
        name, _, weight = part.partition(":")
        name = name.strip()
        if name not in names:
            raise ValueError(f"unknown target label {name!r} in {spec!r}; valid labels: {', '.join(names)} "
                             f"(join several with '+', e.g. '{names[0]}+{names[-1]}')")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"target {spec!r}: weight {weight!r} of {name!r} is not a number") from None
        if w <= 0:
            raise ValueError(f"target {spec!r}: weight of {name!r} must be positive, got {w}")
        y[names.index(name)] += w
    return y / y.sum()


def parse_targets(specs: Sequence[str], class_names: Sequence[str], per_target: int = 1) -> tuple[torch.Tensor, list[str]]:
    """Targets for a batch: each spec repeated ``per_target`` times -> ``(N, K)`` and ``N`` names.

    ``specs`` may be ``["all"]`` (every class once, in class order).
    """
    specs = list(specs)
    if specs == ["all"] or not specs:
        specs = list(class_names)
    if per_target < 1:
        raise ValueError(f"videos per target must be >= 1, got {per_target}")
    rows, names = [], []
    for spec in specs:
        y = parse_target(spec, class_names)
        for k in range(per_target):
            rows.append(y)
            names.append(str(spec) if per_target == 1 else f"{spec}#{k}")
    return torch.stack(rows), names


def primary_labels(targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The label each target aims at and whether it is single-label: ``(N,)`` int64, ``(N,)`` bool."""
    return targets.argmax(dim=1), targets.max(dim=1).values > 0.999


def target_error(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 6: per-video cross-entropy to a (soft) target ``(B, K)`` -> ``(B,)``."""
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)


def norm_error(video: torch.Tensor) -> torch.Tensor:
    """Eq. 10: per-video squared L2 norm, as a mean over its pixels, ``(B,)``."""
    return video.float().pow(2).mean(dim=(1, 2, 3, 4))


def ink_error(layers01: torch.Tensor, layer_targets: torch.Tensor, class_ink: torch.Tensor, mask: torch.Tensor,
              floor: float = 0.0) -> torch.Tensor:
    """The ink prior of a multi-label video's layers (ours): ``Σ_layers log((S + 1) / (a + 1))²`` per video ``(M,)``.

    ``layers01 (M, L, C, T, H, W)`` in [0, 1] over white; ``S`` a layer's ink per frame
    (:func:`~videogen3d.data.transforms.ink_per_frame`, pixels from ``floor`` up) averaged over the frames; ``a`` the
    mean of its label (``layer_targets (M, L, K)``, one-hot) in ``class_ink (K,)``, the real training clips; ``mask
    (M, L)`` the layers in use. The log ratio makes 2x and 1/2x cost the same, the +1 (a pixel of full ink) keeps a
    blank layer finite. Steered by classifiers that see it alone, a layer grows past its class's size, and in the blend
    the larger object takes the reader's attention from the other; real two-object clips hold each at its own size."""
    have = ink_per_frame(layers01, floor, dim=2).float().mean(-1)  # (M, L)
    want = (layer_targets * class_ink).sum(-1)
    return (((have + 1.0) / (want + 1.0)).log().pow(2) * mask).sum(1)
