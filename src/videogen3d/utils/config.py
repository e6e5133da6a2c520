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


# What a config received with a run folder may build: the project's own classes, torch's layers,
# losses and optimizers, and Lightning's callbacks and loggers. Anything else (``os.system``,
# ``torch.load``, ``builtins.eval``, ``subprocess.run``) would run code of the sender's choosing.
ALLOWED_TARGETS = (
    "videogen3d.",
    "torch.nn.",
    "torch.optim.",
    "pytorch_lightning.callbacks.",
    "pytorch_lightning.loggers.",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
    "pytorch_lightning.Trainer",  # exact names from here on (a prefix ending without a dot is matched whole)
    "lightning.pytorch.Trainer",
)


def check_targets(cfg: DictConfig, source: str, allowed: tuple[str, ...] = ALLOWED_TARGETS) -> None:
    """Refuse a config with a ``_target_`` outside ``allowed`` (prefixes), naming the key and the value.

    ``_target_`` strings are read without resolving interpolations elsewhere in the config; an
    interpolated ``_target_`` is refused too, since its value is not known until it is built.
    """
    container = OmegaConf.to_container(cfg, resolve=False)

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                sub = f"{key}.{k}" if key else str(k)
                if k in ("_target_", "_partial_target_") and v is not None:
                    target = str(v)
                    ok = any(target.startswith(p) if p.endswith(".") else target == p for p in allowed)
                    if not ok or "${" in target:
                        raise ValueError(
                            f"{source}: {sub}={target!r} is not allowed to be built from a run's config; "
                            f"allowed targets: {', '.join(p + '*' if p.endswith('.') else p for p in allowed)}")
                else:
                    walk(v, sub)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{key}[{i}]")

    walk(container, "")
