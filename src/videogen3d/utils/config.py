"""Config helpers: build lists of callbacks/loggers and check a composed config before work starts."""

from __future__ import annotations

import logging
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry with a ``_target_`` in a group such as ``callbacks`` or ``logger``."""
    if not group:
        return []
    if not isinstance(group, DictConfig):
        raise TypeError(f"expected a config mapping of name -> component, got {type(group).__name__}")
    return [instantiate(node) for node in group.values() if isinstance(node, DictConfig) and "_target_" in node]


def check_config(cfg: DictConfig) -> None:
    """Refuse, before any data is rendered, a config with a missing mandatory value (``???``)."""
    run_config = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # compose() may add hydra
    missing = sorted(OmegaConf.missing_keys(run_config))
    if missing:
        raise ValueError(
            "these config values must be set on the command line or in an experiment file: "
            + ", ".join(missing) + " (e.g. `python train.py " + " ".join(f"{k}=..." for k in missing[:2]) + "`)"
        )
