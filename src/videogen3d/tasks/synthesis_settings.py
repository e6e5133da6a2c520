"""The settings of :class:`videogen3d.tasks.synthesis.PixelSynthesis` and their check, apart from the module so
that ``synth.py stage=all`` can refuse a bad method setting before the first stage trains."""

from __future__ import annotations

import torch

from videogen3d.models.blocks import check_flag, check_fraction

__all__ = ["METHODS", "OPTIMIZERS", "PRIOR_GRADIENTS", "JITTER_KEYS", "check_settings", "checked_class_ink"]

METHODS = ("ours", "comparison")
OPTIMIZERS = ("gd", "adam", "normgd")
PRIOR_GRADIENTS = ("full", "residual")


JITTER_KEYS = ("shift", "scale", "time_shift")
# how candidates=K scores a draw: the guides' mean probability on its target, or the weakest guide's
SELECT_BY = ("mean", "weakest")
# how candidates=K chooses for a multi-label video made of layers: one draw for all its layers (scored by the
# weakest layer), or each layer its own best draw (the layers are optimised apart, so any mix of draws is a video)
SELECT_LAYERS = ("joint", "each")


def check_settings(*, tempcae: bool, generator: bool, method: str = "ours", optimizer: str = "gd",
                   prior_gradient: str = "full", eta_scale: float = 1.0, eta_c3d_scale: float | None = None,
                   jitter: dict[str, float] | None = None, eta_tv: float = 0.0, coarse_factor: int = 1,
                   coarse_until: float = 0.0, langevin: float = 0.0, eta_code: float = 1.0, code_init: float = 1.0,
                   code_sphere: bool = False, candidates: int = 1, select_at: float = 0.25, select_views: int = 4,
                   select_by: str = "mean", select_layers: str = "joint", composite_weight: float = 0.5,
                   layout: float = 0.0, matte: float = 0.0, layers: bool = False,
                   pair: bool = False, eta_ink: float = 0.0, **_: object) -> None:
    """Refuse a synthesis setting that :class:`PixelSynthesis` cannot run, naming the key and the value;
    ``tempcae``/``generator``/``pair``: whether it gets a tempCAE / a generator / a two-object C3D. The constructor calls it, and
    ``synth.py stage=all`` calls it for every method before the first stage trains (other keys, the η, lr and
    iterations, are taken as given)."""
    if int(candidates) < 1 or not 0.0 <= float(select_at) <= 1.0 or int(select_views) < 0:
        raise ValueError(f"synthesis candidates={candidates} must be >= 1, select_at={select_at} in [0, 1] and "
                         f"select_views={select_views} >= 0")
    if select_by not in SELECT_BY:
        raise ValueError(f"synthesis select_by={select_by!r} is unknown; expected one of {SELECT_BY}")
    if select_layers not in SELECT_LAYERS:
        raise ValueError(f"synthesis select_layers={select_layers!r} is unknown; expected one of {SELECT_LAYERS}")
    if method not in METHODS:
        raise ValueError(f"synthesis method={method!r} is unknown; expected one of {METHODS}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"synthesis optimizer={optimizer!r} is unknown; expected 'gd' (the seed's), 'adam' "
                         f"or 'normgd'")
    if method == "ours" and not tempcae:
        raise ValueError("synthesis method='ours' needs a tempCAE (eq. 8); pass tempcae=")
    if prior_gradient not in PRIOR_GRADIENTS:
        raise ValueError(f"synthesis prior_gradient={prior_gradient!r} is unknown; expected one of "
                         f"{PRIOR_GRADIENTS}")
    for key, value in (("eta_scale", eta_scale), ("eta_c3d_scale", eta_scale if eta_c3d_scale is None else eta_c3d_scale)):
        if value <= 0:
            raise ValueError(f"synthesis {key} must be positive, got {value}")
    unknown = set(jitter or {}) - set(JITTER_KEYS)
    if unknown:
        raise ValueError(f"synthesis jitter keys {sorted(unknown)} are unknown; expected {list(JITTER_KEYS)}")
    if any(float(v) < 0 for v in (jitter or {}).values()) or eta_tv < 0 or langevin < 0:
        raise ValueError(f"synthesis jitter {jitter}, eta_tv={eta_tv} and langevin={langevin} must be >= 0")
    if int(coarse_factor) < 1 or not 0.0 <= coarse_until <= 1.0:
        raise ValueError(f"synthesis coarse_factor={coarse_factor} must be >= 1 and coarse_until={coarse_until} "
                         f"in [0, 1]")
    if eta_code < 0 or code_init < 0:
        raise ValueError(f"synthesis eta_code={eta_code} and code_init={code_init} must be >= 0")
    check_flag("synthesis code_sphere", code_sphere)
    check_fraction("synthesis composite_weight", composite_weight,
                   " (the share of a multi-label video's classifier term taken on the composite; the rest on its layers)")
    check_fraction("synthesis layout", layout, " (the largest shift of a layer, a share of the frame's height and width;"
                   " used with layers: true)")
    check_fraction("synthesis matte", matte, " (the ink below which a multi-label video's layer is made white;"
                   " used with layers: true)")
    if generator and (int(coarse_factor) > 1 or optimizer == "normgd"):
        raise ValueError("synthesis through a generator optimises its code: coarse_factor and optimizer="
                         "'normgd' act on pixels and cannot be used with it")
    if pair and not (generator and layers and float(composite_weight) > 0):
        raise ValueError(f"synthesis pair_guide reads the composite of a multi-label video's layers: it needs a "
                         f"generator (latent: vae), layers: true and composite_weight > 0 (got generator "
                         f"{bool(generator)}, layers={layers!r}, composite_weight={composite_weight!r})")
    if not float(eta_ink) >= 0:
        raise ValueError(f"synthesis eta_ink={eta_ink} must be >= 0 (the weight of a multi-label video's layers' ink prior)")
    if float(eta_ink) > 0 and not (generator and layers):
        raise ValueError(f"synthesis eta_ink={eta_ink} weighs the ink of a multi-label video's layers: it needs a "
                         f"generator (latent: vae) and layers: true (got generator {bool(generator)}, layers={layers!r})")
    if code_sphere and not generator:
        raise ValueError("synthesis code_sphere=true keeps a generator's codes on a sphere; it needs a "
                         "generator (a method with latent: vae)")


def checked_class_ink(eta_ink: float, class_ink, n_classes: int) -> torch.Tensor:
    """``class_ink`` (each class's mean ink per frame in its real training clips) as a ``(K,)`` tensor, refused by
    name unless it has ``n_classes`` entries, all > 0: the ink prior ``eta_ink`` needs one per class."""
    ink = torch.as_tensor(class_ink if class_ink is not None else [], dtype=torch.float32).flatten()
    if len(ink) != n_classes or not bool((ink > 0).all()):
        raise ValueError(f"synthesis eta_ink={eta_ink} needs class_ink: each of the {n_classes} classes' mean ink per "
                         f"frame (> 0), got {ink.tolist()}")
    return ink
