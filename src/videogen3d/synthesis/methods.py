"""Synthesis methods as config: ``synthesis.method_defs`` names each method and what it is built from.

A definition holds

- ``prior``: ``tempcae`` (eq. 8) or ``norm`` (eq. 11); ``autoencoder``: which tempCAE checkpoint
  (``autoencoder`` or ``autoencoder_dae``); ``classifiers``: which C3D checkpoints (``classifier``,
  ``classifier_robust``, ``classifier_vae``: the VAE-domain C3D; ``classifier_tsm``: the temporal-shift 2D CNN;
  ``classifier_still``: the still-frame 2D CNN, which reads each frame on its own;
  several: an ensemble); ``latent``: ``vae`` to optimise the code of the clip VAE
  (:mod:`videogen3d.tasks.vae`) instead of the pixels (DGN-AM), or absent / null for pixels; ``pair_guide``:
  the C3D checkpoint (``classifier_pair``, trained on two-object clips) that reads the composite of a multi-label
  video's layers for its ``composite_weight`` share, or absent / null for the ensemble itself;
- any :class:`videogen3d.tasks.synthesis.PixelSynthesis` setting (``optimizer``, ``lr``,
  ``iterations``, ``eta_*``, ``jitter``, ``eta_tv``, ``coarse_factor``, ``langevin``, ...), which
  replaces the global ``synthesis.<key>`` for this method only;
- ``base`` + ``ablate``: another method's definition with the named components switched off
  (:data:`ABLATIONS`), so an ablation row differs from its base in exactly those components.

A definition or a ``synthesis.methods`` entry that cannot be resolved is a :class:`ConfigError` naming it
(``synth.py`` prints it as one line).
"""

from __future__ import annotations

import copy
from typing import Any

from omegaconf import DictConfig, OmegaConf

from videogen3d.data.datamodule import held_out_counts
from videogen3d.utils.config import ConfigError, check_whole

__all__ = ["ABLATIONS", "CLASSIFIERS", "VAE_TRAINED", "SYNTHESIS_KEYS", "resolve_method", "synthesis_kwargs",
           "synthesis_methods", "method_spec", "introspection", "needed_checkpoints", "stage_checkpoints",
           "checkpoints_used"]

# PixelSynthesis settings a method may set (the rest of its constructor comes from the stage)
SYNTHESIS_KEYS = ("eta_c3d", "eta_tempcae", "eta_norm", "optimizer", "lr", "iterations", "init_scale", "clamp",
                  "seed", "eta_scale", "eta_c3d_scale", "prior_gradient", "jitter", "eta_tv", "coarse_factor",
                  "coarse_until", "langevin", "eta_code", "code_init", "code_sphere", "layers", "composite_weight", "layout",
                  "matte", "candidates", "select_at", "select_by", "select_layers", "eta_ink")
_META = ("label", "prior", "autoencoder", "classifiers", "latent", "pair_guide", "base", "ablate")


CLASSIFIERS = ("classifier", "classifier_robust", "classifier_vae", "classifier_vae_plain", "classifier_pair",
               "classifier_tsm", "classifier_still")
# the classifiers trained in stage autoencoder, after the clip VAE, on its reconstructions
VAE_TRAINED = ("classifier_vae", "classifier_vae_plain", "classifier_pair", "classifier_tsm", "classifier_still")


def _drop(member: str):
    """An ablation that removes checkpoint ``member`` from the ensemble (the others kept, in order)."""
    def apply(spec: dict[str, Any]) -> None:
        spec["classifiers"] = [c for c in spec["classifiers"] if c != member]
    return apply


def _swap(old: str, new: str):
    """An ablation that puts checkpoint ``new`` in ``old``'s place in the ensemble (once, order kept)."""
    def apply(spec: dict[str, Any]) -> None:
        spec["classifiers"] = list(dict.fromkeys(new if c == old else c for c in spec["classifiers"]))
    return apply


# component -> how a definition is changed to switch it off
ABLATIONS = {
    "robust": _swap("classifier_robust", "classifier"),    # the standard C3D instead
    "vae_domain": _swap("classifier_vae", "classifier"),   # the standard C3D (real clips only) instead
    "negatives": _swap("classifier_vae", "classifier_vae_plain"),  # the VAE-domain C3D before its introspective rounds
    "ensemble": lambda s: s.update(classifiers=s["classifiers"][:1]),      # its first member alone
    "jitter": lambda s: s.update(jitter=None),
    "tv": lambda s: s.update(eta_tv=0.0),
    "langevin": lambda s: s.update(langevin=0.0),
    "coarse": lambda s: s.update(coarse_factor=1, coarse_until=0.0),
    "dae": lambda s: s.update(autoencoder="autoencoder", prior_gradient="full"),  # the seed's plain tempCAE
    "prior": lambda s: s.update(prior="norm", autoencoder=None, eta_norm=0.0),    # no prior at all
    "step": lambda s: s.update(optimizer="gd"),                                     # the seed's plain GD
    "latent": lambda s: s.update(latent=None),                # pixels optimised, not the VAE's code
    "code_prior": lambda s: s.update(eta_code=0.0),           # the code's Gaussian prior off
    "code_sphere": lambda s: s.update(code_sphere=False),     # codes free, not kept on |u| = sqrt(d)
    "layers": lambda s: s.update(layers=False),               # one code for a multi-label target too
    "layout": lambda s: s.update(layout=0.0),                 # layers left where their codes put them
    "matte": lambda s: s.update(matte=0.0),                   # layers blended with their faint ink as decoded
    "candidates": lambda s: s.update(candidates=1),           # one random start per video, no selection
    "pair": lambda s: s.update(pair_guide=None, composite_weight=0.0),  # no composite term: the layers alone
    "tsm": _drop("classifier_tsm"),                          # the C3Ds alone
    "still": _drop("classifier_still"),                      # no still-frame guide
    "ink": lambda s: s.update(eta_ink=0.0),                   # layers of any ink, not their class's
}


def resolve_method(defs: dict[str, Any], name: str, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The full definition of method ``name`` (``base`` followed, ``ablate`` applied), with defaults:
    ``classifiers: [classifier]``, ``autoencoder: autoencoder`` for the tempCAE prior, none for the norm."""
    if name not in defs:
        raise ConfigError(f"synthesis method {name!r} is not defined; synthesis.method_defs has {list(defs)}")
    if name in _seen:
        raise ConfigError(f"synthesis.method_defs.{name}: its base chain loops ({' -> '.join(_seen + (name,))})")
    raw = dict(defs[name] or {})
    unknown = set(raw) - set(_META) - set(SYNTHESIS_KEYS)
    if unknown:
        raise ConfigError(f"synthesis.method_defs.{name} has unknown keys {sorted(unknown)}; expected some of "
                         f"{sorted(_META + SYNTHESIS_KEYS)}")
    spec = copy.deepcopy(resolve_method(defs, raw["base"], _seen + (name,))) if raw.get("base") else {}
    spec.pop("ablate", None)
    spec.pop("label", None)
    spec.update({k: copy.deepcopy(v) for k, v in raw.items() if k not in ("base", "ablate")})
    spec.setdefault("prior", "tempcae")
    if spec["prior"] not in ("tempcae", "norm"):
        raise ConfigError(f"synthesis.method_defs.{name}.prior={spec['prior']!r}; expected 'tempcae' (eq. 8) or "
                         f"'norm' (eq. 11)")
    spec.setdefault("classifiers", ["classifier"])
    spec["classifiers"] = list(spec["classifiers"])
    spec.setdefault("autoencoder", "autoencoder" if spec["prior"] == "tempcae" else None)
    ablate = list(raw.get("ablate") or [])
    bad = [a for a in ablate if a not in ABLATIONS]
    if bad:
        raise ConfigError(f"synthesis.method_defs.{name}.ablate names unknown components {bad}; expected some of "
                         f"{list(ABLATIONS)}")
    for component in ablate:
        ABLATIONS[component](spec)
    if spec["prior"] == "norm":
        spec["autoencoder"] = None
    spec["ablate"] = ablate or None
    for c in spec["classifiers"]:
        if c not in CLASSIFIERS:
            raise ConfigError(f"synthesis.method_defs.{name}.classifiers names {c!r}; expected one of {list(CLASSIFIERS)}")
    spec.setdefault("latent", None)
    spec.setdefault("pair_guide", None)
    if spec["pair_guide"] is not None:
        if spec["pair_guide"] not in CLASSIFIERS:
            raise ConfigError(f"synthesis.method_defs.{name}.pair_guide={spec['pair_guide']!r}; expected one of "
                              f"{list(CLASSIFIERS)} (classifier_pair: the C3D of two-object clips) or null")
    if spec["latent"] not in (None, "vae"):
        raise ConfigError(f"synthesis.method_defs.{name}.latent={spec['latent']!r}; expected 'vae' (the clip VAE's "
                         f"code) or null (pixels)")
    if spec["autoencoder"] not in (None, "autoencoder", "autoencoder_dae"):
        raise ConfigError(f"synthesis.method_defs.{name}.autoencoder={spec['autoencoder']!r}; expected "
                         f"'autoencoder' or 'autoencoder_dae'")
    return spec


def synthesis_kwargs(global_cfg: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """PixelSynthesis keyword arguments: the global ``synthesis.<key>`` values, replaced by the method's own."""
    kwargs = {k: global_cfg[k] for k in SYNTHESIS_KEYS if k in global_cfg}
    kwargs.update({k: spec[k] for k in SYNTHESIS_KEYS if k in spec})
    kwargs["method"] = "ours" if spec["prior"] == "tempcae" else "comparison"
    kwargs["iterations"] = int(kwargs.get("iterations", 1))
    return kwargs


def synthesis_methods(cfg: DictConfig) -> list[str]:
    """``synthesis.methods``, checked against the methods defined in ``synthesis.method_defs``."""
    methods = [str(m) for m in cfg.synthesis.methods]
    known = list(cfg.synthesis.method_defs)
    bad = [m for m in methods if m not in known]
    if bad or not methods:
        raise ConfigError(f"synthesis.methods={methods} names unknown methods {bad}; expected some of {known} "
                         f"(synthesis.method_defs)")
    return methods


def method_spec(cfg: DictConfig, method: str) -> dict[str, Any]:
    """One method's resolved definition (:func:`videogen3d.synthesis.methods.resolve_method`)."""
    return resolve_method(OmegaConf.to_container(cfg.synthesis.method_defs, resolve=True), method)


def checkpoints_used(spec: dict[str, Any]) -> set[str]:
    """The checkpoints that a resolved method uses: its classifiers, its pixel prior, its generator, its pair guide."""
    return set(spec["classifiers"]) | {m for m in (spec["autoencoder"], spec.get("latent"), spec.get("pair_guide")) if m}


def introspection(cfg: DictConfig) -> dict[str, Any] | None:
    """``classifier.vae_domain.introspection`` checked, or None where its ``rounds`` is 0 (off): each round,
    ``method`` (which must use ``classifier_vae``) makes ``videos_per_target`` videos per class in
    ``iterations`` steps with the VAE-domain C3D as it stands, and the C3D is trained again on all of them;
    ``max_val_drop`` (null: off) refuses a round that lowers its validation accuracy on real clips by more than
    that below the plain C3D's (:func:`videogen3d.synthesis.training.train_vae_domain`)."""
    node = OmegaConf.select(cfg, "classifier.vae_domain.introspection")
    intro = dict(OmegaConf.to_container(node, resolve=True)) if node is not None else {}
    if not intro.get("rounds"):
        return None
    key = "classifier.vae_domain.introspection"
    for k in ("rounds", "iterations", "videos_per_target"):
        check_whole(f"{key}.{k}", intro.get(k))
    drop = intro.get("max_val_drop")
    if drop is not None and (isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0 <= drop <= 1):
        raise ConfigError(f"{key}.max_val_drop={drop!r} must be null (no guard) or an accuracy drop in [0, 1]")
    if drop is not None:
        _check_validation_clips(cfg, f"{key}.max_val_drop={drop!r}")
    share = OmegaConf.select(cfg, "classifier.vae_domain.module.negative_share", default=0.0)
    if not share:
        raise ConfigError(f"{key}.rounds={intro['rounds']} needs classifier.vae_domain.module.negative_share > 0 "
                          f"(the share of each batch that the negatives fill), got {share!r}")
    spec = resolve_method(OmegaConf.to_container(cfg.synthesis.method_defs, resolve=True), str(intro.get("method")))
    if "classifier_vae" not in spec["classifiers"]:
        raise ConfigError(f"{key}.method={intro['method']!r} does not use classifier_vae ({spec['classifiers']}); "
                          f"its videos are the VAE-domain C3D's negatives, so it must be guided by it")
    return intro | {"spec": spec}


def _check_validation_clips(cfg: DictConfig, setting: str) -> None:
    """Refuse ``setting`` (the guard that reads real validation clips) where the main partition's split puts none of a
    class's clips into validation (the datamodule's own count, :func:`~videogen3d.data.datamodule.held_out_counts`)."""
    n, f = OmegaConf.select(cfg, "dataset.source.clips_per_class"), OmegaConf.select(cfg, "dataset.val_fraction")
    if n is None or f is None or held_out_counts(int(n), f, 0)[0] >= 1:
        return
    least = next((k for k in range(1, int(2 / f) + 2) if held_out_counts(k, f, 0)[0] >= 1), None) if f > 0 else None
    fix = f"dataset.source.clips_per_class>={least}" if least else "dataset.val_fraction>0"
    raise ConfigError(f"{setting} compares accuracies on the real clips of the main partition's validation split, but "
                      f"dataset.source.clips_per_class={n} with dataset.val_fraction={f} puts none there; use {fix} "
                      f"or classifier.vae_domain.introspection.max_val_drop=null")


def needed_checkpoints(cfg: DictConfig) -> set[str]:
    """Every checkpoint that the methods of ``synthesis.methods`` use (and, for the VAE-domain C3D's
    introspective rounds, its plain first version and what the rounds' method uses)."""
    need: set[str] = set()
    for m in synthesis_methods(cfg):
        need |= checkpoints_used(method_spec(cfg, m))
    intro = introspection(cfg) if "classifier_vae" in need else None
    if intro:
        need |= {"classifier_vae_plain"} | checkpoints_used(intro["spec"])
    for ckpt, variant in (("classifier_robust", "robust"), ("classifier_vae", "vae_domain"),
                          ("classifier_vae_plain", "vae_domain"), ("classifier_pair", "pair"), ("classifier_tsm", "tsm"),
                          ("classifier_still", "still")):
        init = OmegaConf.select(cfg, f"classifier.{variant}.init")
        if ckpt in need and init:  # trained on from that checkpoint's weights
            need |= {str(init)}
    if need & set(VAE_TRAINED):
        need |= {"vae"}
    return need


def stage_checkpoints(cfg: DictConfig, stage: str) -> list[str]:
    """The checkpoints that training ``stage`` makes for ``cfg``'s methods (the judge's always)."""
    if stage == "judge":
        return ["judge"]
    made = (("classifier", "classifier_robust") if stage == "classifier"
            else ("autoencoder", "autoencoder_dae", "vae", *VAE_TRAINED))
    return sorted(needed_checkpoints(cfg) & set(made))
