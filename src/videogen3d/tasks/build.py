"""Compose a LightningModule from the config groups: generator, disc, loss, optim.

``disc=none`` gives the plain translator (seed 000 §3); any other disc gives the conditional
GAN (seed 000 §4, built by ``videogen3d.tasks.gan.build_gan_task``).
"""

from __future__ import annotations

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from videogen3d.tasks.translator import TranslatorModule


def choice(cfg: DictConfig, group: str) -> str:
    """The option picked for a config group (``loss=cgan`` -> 'cgan'), or '<group>' outside Hydra."""
    try:
        return str(HydraConfig.get().runtime.choices.get(group, group))
    except ValueError:  # not running under @hydra.main / compose with hydra config
        return str(cfg.get("choices", {}).get(group, group))


def has_disc(cfg: DictConfig) -> bool:
    disc = cfg.get("disc")
    return disc is not None and disc.get("_target_") is not None


def build_task(cfg: DictConfig, datamodule: pl.LightningDataModule) -> pl.LightningModule:
    generator = instantiate(cfg.generator)
    if has_disc(cfg):
        from videogen3d.tasks.gan import build_gan_task

        return build_gan_task(cfg, generator, datamodule)
    if cfg.loss.get("adversarial") is not None:
        raise ValueError(
            f"loss={choice(cfg, 'loss')} is an adversarial loss but disc={choice(cfg, 'disc')} has no "
            f"discriminator: pick a discriminator (disc=conv or disc=resnet11) or a reconstruction "
            f"loss (loss=mse or loss=l1)"
        )
    if cfg.loss.get("reconstruction") is None:
        raise ValueError(f"loss={choice(cfg, 'loss')} has no reconstruction term for the plain translator")
    return TranslatorModule(
        generator=generator,
        reconstruction=instantiate(cfg.loss.reconstruction),
        optimizer=instantiate(cfg.optim.generator),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        num_samples=cfg.get("num_samples", 4),
        frame_size=cfg.dataset.frame_size,
    )
