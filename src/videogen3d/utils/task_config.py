"""Refuse a task whose config groups contradict each other, naming the options and the fix.

The groups choose the task themselves (a disc file's defaults list picks ``task=gan`` and
``loss=mixed``); what is left to check is a command line that names a pair no task can train.
"""

from __future__ import annotations

from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from videogen3d.utils.config import ConfigError


def choice(cfg: DictConfig, group: str) -> str:
    """The option picked for a config group (``loss=cgan`` -> 'cgan'), or '<group>' outside Hydra."""
    try:
        return str(HydraConfig.get().runtime.choices.get(group, group))
    except ValueError:  # not running under @hydra.main / compose with the hydra config
        return group


def has_disc(cfg: DictConfig) -> bool:
    disc = cfg.get("disc")
    return disc is not None and disc.get("_target_") is not None


def check_task(cfg: DictConfig) -> None:
    """Before anything is built: the disc, loss and task groups agree."""
    disc, loss, task = choice(cfg, "disc"), choice(cfg, "loss"), choice(cfg, "task")
    adversarial, reconstruction = cfg.loss.get("adversarial"), cfg.loss.get("reconstruction")
    gan = str(cfg.task.get("_target_", "")).endswith("ConditionalGANModule")
    if has_disc(cfg):
        if adversarial is None:
            raise ConfigError(
                f"disc={disc} trains a discriminator, but loss={loss} has no adversarial term: leave the loss out "
                f"(a disc trains with loss=mixed, λ·L1 + adversarial), or name loss=mixed or loss=cgan; "
                f"for the plain translator with loss={loss} use disc=none")
        if not gan:
            raise ConfigError(f"disc={disc} needs task=gan, but task={task}: leave task out (the disc picks it)")
        return
    if adversarial is not None:
        raise ConfigError(
            f"loss={loss} has an adversarial term but disc={disc} has no discriminator: pick one "
            f"(disc=conv or disc=resnet11, which train with loss=mixed unless told otherwise) or a "
            f"reconstruction loss (loss=mse or loss=l1)")
    if gan:
        raise ConfigError(f"task={task} needs a discriminator, but disc={disc}: choose disc=conv or disc=resnet11 "
                         f"(they pick task=gan themselves)")
    if reconstruction is None:
        raise ConfigError(f"loss={loss} has no reconstruction term for the plain translator (disc={disc})")


def check_datamodule(cfg: DictConfig, datamodule: Any) -> None:
    """A conditional GAN needs batches with a condition video."""
    if has_disc(cfg) and not getattr(datamodule, "has_condition", True):
        raise ConfigError(
            f"disc={choice(cfg, 'disc')} needs a condition video, but dataset={choice(cfg, 'dataset')} "
            f"({type(datamodule).__name__}) has none (its batches hold only a target and a label); pick a "
            f"paired dataset (e.g. dataset=stick_to_puppet) or disc=none")


def build_task(cfg: DictConfig, datamodule: Any) -> Any:
    """What ``train()`` does to make its LightningModule: the checks above, then ``instantiate(cfg.task)``."""
    from hydra.utils import instantiate

    check_task(cfg)
    check_datamodule(cfg, datamodule)
    return instantiate(cfg.task)
