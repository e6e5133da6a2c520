"""Logger factories that need a decision at run time."""

from __future__ import annotations

import logging
import netrc
import os
from typing import Any

from pytorch_lightning.loggers import WandbLogger

log = logging.getLogger(__name__)


def wandb_credentials_present() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_logger(offline: bool | None = None, **kwargs: Any) -> WandbLogger:
    """A ``WandbLogger`` that goes offline by itself when there is no API key or WANDB_MODE says so.

    Offline runs are written under ``save_dir/wandb`` and can be uploaded later with ``wandb sync``.
    """
    if offline is None:
        mode = os.environ.get("WANDB_MODE", "")
        offline = mode in ("offline", "dryrun", "disabled") or not wandb_credentials_present()
        if offline:
            log.info("W&B: no API key found (or WANDB_MODE=%s); logging offline", mode or "unset")
    return WandbLogger(offline=offline, **kwargs)
