"""A trained generator from a checkpoint and the run's Hydra config (seed 000 §5.3).

Lightning checkpoints of ``TranslatorModule`` and ``ConditionalGANModule`` hold the module's
state dict (``generator.*`` keys) and plain hparams, not the architecture: that comes from the
run's config, ``<run_dir>/.hydra/config.yaml`` (the run dir is two levels above
``checkpoints/x.ckpt``), or from a config YAML given explicitly (:mod:`.run_config`).
A checkpoint may come from someone else: it is unpickled with ``weights_only=True``. Any module whose generator
lives under ``generator.`` loads, so a new task kind needs nothing here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from videogen3d.platform.run_config import default_conf_dir, load_run_config, run_config_path
from videogen3d.utils.io import TRUST_HINT, load_tensors_inert, load_tensors_only
from videogen3d.utils.video import frame_hw

__all__ = ["TrainedGenerator", "run_config_path", "load_run_config", "load_generator", "read_checkpoint",
           "default_conf_dir", "TRUST_HINT"]


@dataclass
class TrainedGenerator:
    """A generator in eval mode with what inference needs to know about it."""

    module: nn.Module  # the run's task (translator or GAN), built from its config: its forward is inference
    config: DictConfig
    checkpoint: Path

    @property
    def net(self) -> nn.Module:
        """The generator network itself (without a GAN's noise input)."""
        return getattr(self.module, "generator", self.module)

    @property
    def noise_channels(self) -> int:
        return int(getattr(self.module, "hparams", {}).get("noise_channels", 0) or 0)

    @property
    def down_factors(self) -> tuple[int, int]:
        """``(t_factor, s_factor)``: T must be a multiple of the first, H and W of the second."""
        return tuple(getattr(self.net, "down_factors", (1, 1)))  # type: ignore[return-value]

    @property
    def clip_len(self) -> int:
        return int(getattr(self.net, "clip_len", self.config.dataset.clip_len))

    @property
    def frame_size(self) -> tuple[int, int]:
        fs = getattr(self.net, "frame_size", None) or self.config.dataset.frame_size
        return frame_hw(fs)

    @torch.no_grad()
    def __call__(self, cond: torch.Tensor) -> torch.Tensor:
        """``(B, 3, T, H, W)`` in [-1, 1] -> the generated video, by the task's own forward (which draws a
        GAN's noise channels: the one place that knows how)."""
        return self.module(cond)


INERT_HINT = ("pass --trust-checkpoint to read its tensors with every other object left an inert placeholder (nothing "
              "in the file is run)")


def read_checkpoint(ckpt: str | os.PathLike, trust: bool = False) -> dict:
    """The checkpoint's dict, unpickled with ``weights_only=True`` (tensors and plain values only).

    A checkpoint that needs more (pickled classes, functions: what a payload uses to run code) is
    refused with a message naming the file, the global it asks for and the opt-in
    (:func:`videogen3d.utils.io.load_tensors_only`, the loader ``train.py``'s resume check and the synthesis
    checkpoints share). ``trust=True`` (the user's explicit choice) reads such a file with every object other than
    tensors and plain containers left an inert placeholder (:func:`videogen3d.utils.io.load_tensors_inert`): only the
    weights are used here, so nothing the file names is imported or run, even then.
    """
    ckpt = Path(ckpt)
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {str(ckpt)!r} does not exist")
    if trust:  # only the weights are used: every other object stays an inert placeholder, nothing runs
        state = load_tensors_inert(ckpt, "checkpoint")
    else:
        state = load_tensors_only(ckpt, "checkpoint", trust_hint=INERT_HINT)
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {str(ckpt)!r} holds a {type(state).__name__}, not a checkpoint dict")
    return state


def load_generator(ckpt: str | os.PathLike, config: str | os.PathLike | None = None,
                   overrides: list[str] | tuple[str, ...] = (), device: str | torch.device = "cpu",
                   conf_dir: str | os.PathLike | None = None, trust: bool = False) -> TrainedGenerator:
    """Build the run's task (``cfg.task``) from its config and load the checkpoint's ``generator.*`` weights."""
    ckpt = Path(ckpt)
    state = read_checkpoint(ckpt, trust)
    cfg = load_run_config(ckpt, config, overrides, conf_dir)
    weights = {k[len("generator."):]: v for k, v in state.get("state_dict", {}).items() if k.startswith("generator.")}
    if not weights:
        keys = sorted(state.get("state_dict", {}))[:5]
        raise ValueError(f"checkpoint {str(ckpt)!r} holds no 'generator.*' weights (first keys: {keys}); "
                         f"it is not a translator or GAN checkpoint")
    try:
        if "task" in cfg:  # the task node as train.py built it: same generator, same noise input
            module = instantiate(cfg.task)
            module.generator.load_state_dict(weights)
        else:  # a config written before tasks were config nodes: a plain translator
            module = instantiate(cfg.generator)
            module.load_state_dict(weights)
    except Exception as exc:
        raise ValueError(f"the generator in the config for {str(ckpt)!r} does not match the checkpoint's "
                         f"weights ({str(exc).splitlines()[0][:300]}); pass --config with the run's own "
                         f"config") from exc
    return TrainedGenerator(module.to(device).eval(), cfg, ckpt)
