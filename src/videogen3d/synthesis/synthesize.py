"""Stage synthesis of :mod:`videogen3d.synthesis.stages`: each method of ``synthesis.methods`` optimised from
its checkpoints (:class:`videogen3d.tasks.synthesis.PixelSynthesis`), its videos written to
``synthesis/<method>/``. :func:`optimise` is the one way a method's videos are made, also for the VAE-domain
C3D's introspective negatives (:mod:`videogen3d.synthesis.training`)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from videogen3d.data.noise import describe_corruption
from videogen3d.data.transforms import ink_per_frame
from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis.checkpoints import (checkpoint_identity, load_autoencoder, load_classifier, load_vae,
                                              safe_load)
from videogen3d.synthesis.methods import (CLASSIFIERS, VAE_TRAINED, method_spec, needed_checkpoints,
                                          synthesis_kwargs, synthesis_methods)
from videogen3d.synthesis.outputs import write_synthesis
from videogen3d.tasks.synthesis import PixelSynthesis, check_settings
from videogen3d.utils.config import ConfigError

if TYPE_CHECKING:
    from videogen3d.synthesis.stages import _Run

__all__ = ["Networks", "checked_method", "optimise", "synthesize"]

log = logging.getLogger("videogen3d.synthesis.stages")


class Networks:
    """The trained networks that synthesis uses, each loaded once from its checkpoint (a C3D, a tempCAE or
    the clip VAE, by checkpoint name); a missing one is the loader's error naming the stage that makes it."""

    def __init__(self, r: "_Run") -> None:
        self.r = r
        self._loaded: dict[str, pl.LightningModule] = {}

    def __getitem__(self, stage: str) -> pl.LightningModule:
        if stage not in self._loaded:
            r = self.r
            if stage in CLASSIFIERS:
                self._loaded[stage] = load_classifier(r.ckpt(stage), r.geometry, overrides=r.overrides,
                                                      what=f"C3D ({stage})", stage="autoencoder"
                                                      if stage in VAE_TRAINED
                                                      else "classifier")
            elif stage == "vae":
                self._loaded[stage] = load_vae(r.ckpt(stage), r.geometry, overrides=r.overrides)
            else:
                self._loaded[stage] = load_autoencoder(r.ckpt(stage), r.geometry, overrides=r.overrides,
                                                       what=f"tempCAE ({stage})")
        return self._loaded[stage]


def checked_method(cfg: DictConfig, method: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Method ``method``'s resolved definition and PixelSynthesis keyword arguments, checked as PixelSynthesis
    checks them (:func:`~videogen3d.tasks.synthesis.check_settings`); a setting it cannot run is a
    :class:`ConfigError` naming the method, before anything is built."""
    spec = method_spec(cfg, method)
    kwargs = synthesis_kwargs(OmegaConf.to_container(cfg.synthesis, resolve=True), spec)
    try:
        check_settings(tempcae=spec["autoencoder"] is not None, generator=spec["latent"] is not None,
                       pair=spec["pair_guide"] is not None, **kwargs)
    except ValueError as e:
        raise ConfigError(f"synthesis method {method} (synthesis.method_defs.{method}): {e}") from e
    return spec, kwargs


def optimise(r: "_Run", nets: Networks, spec: dict[str, Any], kwargs: dict[str, Any], targets: torch.Tensor,
             name: str, guides: dict[str, str] | None = None) -> tuple[PixelSynthesis, float]:
    """Make the videos of method ``spec`` (with PixelSynthesis ``kwargs``) for ``targets``; ``guides`` puts
    another classifier checkpoint in one's place. Returns the fitted module and its wall seconds."""
    classifiers = [(guides or {}).get(c, c) for c in spec["classifiers"]]
    cae, latent = spec["autoencoder"], spec.get("latent")
    pair = spec.get("pair_guide") if bool(((targets > 0).sum(1) > 1).any()) else None  # multi-label videos only
    if float(kwargs.get("eta_ink") or 0) > 0:
        kwargs = kwargs | {"class_ink": class_ink(r, float(kwargs.get("matte") or 0))}
    module = PixelSynthesis([nets[c].net for c in classifiers], targets, r.geometry["clip_len"],
                            r.geometry["frame_size"], tempcae=nets[cae].net if cae else None,
                            generator=nets[latent] if latent else None,
                            pair_classifier=nets[pair].net if pair else None, **kwargs)
    trainer = r.trainer(name, max_steps=module.iterations, max_epochs=1, limit_val_batches=0, num_sanity_val_steps=0)
    t0 = time.perf_counter()
    trainer.fit(module)
    return module, round(time.perf_counter() - t0, 1)


def class_ink(r: "_Run", floor: float = 0.0) -> torch.Tensor:
    """Each class's mean ink per frame (:func:`~videogen3d.data.transforms.ink_per_frame`, pixels from ``floor`` up)
    over the training split of the main partition, the clips that the classifiers learn from: ``(K,)``."""
    dm = r.datamodule("main")
    dm.prepare_data()
    dm.setup("fit")
    bank = dm.bank
    per_frame = ink_per_frame(bank.target.permute(3, 0, 1, 2).float() / 255, floor, dim=0)  # (frames,)
    seq = torch.repeat_interleave(torch.arange(len(bank.offsets) - 1), bank.offsets.diff())
    train = torch.zeros(len(bank.offsets) - 1, dtype=torch.bool)
    train[dm.split_sequences(bank)[0]] = True
    labels = bank.labels[seq]
    keep = train[seq]
    return torch.stack([per_frame[keep & (labels == k)].mean() for k in range(len(r.class_names))])


def synthesize(r: "_Run") -> dict[str, Any]:
    """Every method of ``synthesis.methods`` for ``synthesis.targets`` (+ ``multi_targets``), ``videos_per_target``
    each, written to ``synthesis/<method>/``; videos made with the same settings and checkpoints are reused in
    ``stage=all`` / ``stage=methods`` (``retrain=true`` makes them again)."""
    scfg = r.cfg.synthesis
    nets = Networks(r)
    need = needed_checkpoints(r.cfg)  # every one loaded before the first method, in the order the stages make them
    for stage in sorted(need & set(CLASSIFIERS)) + sorted(need & {"autoencoder", "autoencoder_dae"}) + sorted(need & {"vae"}):
        nets[stage]
    targets, names = parse_targets(list(scfg.targets), r.class_names, int(scfg.videos_per_target))
    if scfg.get("multi_targets"):
        mt, mn = parse_targets(list(scfg.multi_targets), r.class_names, int(scfg.videos_per_target))
        targets, names = torch.cat([targets, mt]), names + mn
    files = {}
    for method in synthesis_methods(r.cfg):
        spec, kwargs = checked_method(r.cfg, method)
        cae, latent = spec["autoencoder"], spec.get("latent")
        out_dir = r.work_dir / "synthesis" / method
        key = json.dumps({"kwargs": kwargs, "spec": spec, "names": names, "targets": targets.tolist(),
                          "ckpts": {c: checkpoint_identity(r.ckpt(c)) for c in spec["classifiers"]
                                    + [m for m in (cae, latent, spec.get("pair_guide")) if m]}},
                         sort_keys=True, default=str)
        if _reusable(r, out_dir / "videos.pt", key):
            log.info("synthesis %s: reusing %s (same settings and checkpoints; retrain=true makes it again)",
                     method, out_dir)
            files[method] = {"record": str(out_dir / "videos.pt")}
            continue
        module, seconds = optimise(r, nets, spec, kwargs, targets, f"synthesis_{method}")
        settings = module.settings() | {"method": method, "scale": r.cfg.scale_name, "label": spec.get("label"),
                                        "ablates": spec.get("ablate"), "classifier_ckpts": spec["classifiers"],
                                        "seconds": seconds} | _networks_described(nets, spec)
        settings["reuse_key"] = key
        files[method] = write_synthesis(out_dir, module.synthesized(), names, targets, settings,
                                        r.class_names, fps=float(scfg.fps), mp4=bool(scfg.mp4))
        log.info("synthesis %s: %d videos in %.1f s -> %s", method, len(names), settings["seconds"],
                 files[method]["grid"])
    return files


def _networks_described(nets: Networks, spec: dict[str, Any]) -> dict[str, Any]:
    """How the method's networks were trained, for the table's notes."""
    first = nets[spec["classifiers"][0]].hparams
    out = {"guide_nets": {c: getattr(nets[c].net, "kind", type(nets[c].net).__name__) for c in spec["classifiers"]},
           "c3d_noise": describe_corruption(first.get("corruption", "blend"), first.get("noise_level", 0.0)),
           "c3d_adv": (f"{first.get('adv_norm')} eps {float(first.get('adv_eps')):g}, "
                       f"{int(first.get('adv_steps'))} steps") if first.get("adv_eps") else None}
    if "classifier_vae" in spec["classifiers"]:
        hp = nets["classifier_vae"].hparams
        out["c3d_vae_mix"], out["c3d_vae_negatives"] = (float(hp.get(k, 0.0)) for k in ("generator_mix", "negative_share"))
    if spec.get("pair_guide"):
        hp = nets[spec["pair_guide"]].hparams
        out["pair_guide"] = {"checkpoint": spec["pair_guide"], "composite_mix": float(hp.get("composite_mix", 0.0)),
                             "generator_mix": float(hp.get("generator_mix", 0.0))}
    if spec["autoencoder"]:
        hp = nets[spec["autoencoder"]].hparams
        out["tempcae_noise"] = describe_corruption(hp.get("corruption", "gaussian"), hp.get("noise_std", 0.0))
    if spec.get("latent"):
        vae = nets[spec["latent"]]
        out["vae"] = {"net": type(vae.net).__name__, "latent_dim": vae.latent_dim, "beta": float(vae.hparams.beta),
                      "foreground_weight": float(vae.hparams.get("foreground_weight", 0.0))}
    return out


def _reusable(r: "_Run", record: Path, key: str) -> bool:
    """In ``stage=all`` / ``stage=methods`` without ``retrain``: the videos at ``record`` were made with ``key``."""
    if r.cfg.stage not in ("all", "methods") or r.cfg.retrain or not record.is_file():
        return False
    return safe_load(record, "synthesized videos").get("settings", {}).get("reuse_key") == key
