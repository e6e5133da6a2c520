"""A trained generator from a checkpoint and the run's Hydra config (seed 000 §5.3).

Lightning checkpoints of ``TranslatorModule`` and ``ConditionalGANModule`` hold the module's
state dict (``generator.*`` keys) and plain hparams, not the architecture: that comes from the
run's config, ``<run_dir>/.hydra/config.yaml`` (the run dir is two levels above
``checkpoints/x.ckpt``), or from a config YAML given explicitly. Any module whose generator
lives under ``generator.`` loads, so a new task kind needs nothing here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

__all__ = ["TrainedGenerator", "run_config_path", "load_run_config", "apply_overrides", "load_generator",
           "default_conf_dir"]


@dataclass
class TrainedGenerator:
    """A generator in eval mode with what inference needs to know about it."""

    net: nn.Module
    config: DictConfig
    checkpoint: Path
    noise_channels: int = 0

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
        return (int(fs), int(fs)) if isinstance(fs, int) else (int(fs[0]), int(fs[1]))

    @torch.no_grad()
    def __call__(self, cond: torch.Tensor) -> torch.Tensor:
        """``(B, 3, T, H, W)`` in [-1, 1] -> the generated video; a GAN's noise channels are drawn here."""
        if self.noise_channels:  # as ConditionalGANModule.forward: z ~ N(0, 1) per voxel
            z = torch.randn(cond.shape[0], self.noise_channels, *cond.shape[2:], device=cond.device, dtype=cond.dtype)
            cond = torch.cat([cond, z], dim=1)
        return self.net(cond)


def run_config_path(ckpt: str | os.PathLike) -> Path:
    """``<run_dir>/.hydra/config.yaml`` for ``<run_dir>/checkpoints/<name>.ckpt``."""
    return Path(ckpt).resolve().parent.parent / ".hydra" / "config.yaml"


def default_conf_dir() -> Path | None:
    """The repository's ``conf/`` (source checkout) or ``./conf``; None when neither exists."""
    for candidate in (Path(__file__).resolve().parents[3] / "conf", Path.cwd() / "conf"):
        if candidate.is_dir():
            return candidate
    return None


def apply_overrides(cfg: DictConfig, overrides: list[str] | tuple[str, ...], conf_dir: str | os.PathLike | None = None
                    ) -> DictConfig:
    """Hydra-like overrides on a saved config: ``group=option`` swaps in ``conf/<group>/<option>.yaml``,
    ``a.b=value`` sets a value (YAML-parsed: ``null``, numbers, lists)."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r}: expected key=value (e.g. dataset.batch_size=4 or dataset=video_pairs)")
        key, value = item.split("=", 1)
        key = key.lstrip("+")
        root = Path(conf_dir) if conf_dir else default_conf_dir()
        if "." not in key and root is not None and (root / key).is_dir():  # a config group
            option = root / key / f"{value}.yaml"
            if not option.is_file():
                options = sorted(p.stem for p in (root / key).glob("*.yaml"))
                raise FileNotFoundError(f"override {item!r}: no file {str(option)!r}; options: {options}")
            node = OmegaConf.load(option)
            node.pop("defaults", None)
            cfg[key] = node
        else:
            OmegaConf.update(cfg, key, OmegaConf.from_dotlist([f"v={value}"]).v, force_add=True)
    return cfg


def load_run_config(ckpt: str | os.PathLike, config: str | os.PathLike | None = None,
                    overrides: list[str] | tuple[str, ...] = (), conf_dir: str | os.PathLike | None = None
                    ) -> DictConfig:
    """The run's saved config (or ``config``), without its ``hydra`` key, with ``overrides`` applied."""
    path = Path(config) if config is not None else run_config_path(ckpt)
    if not path.is_file():
        hint = "" if config is not None else (
            f" (the run's config, two levels above the checkpoint {str(ckpt)!r}; pass --config with the "
            f"YAML of the run that wrote it)")
        raise FileNotFoundError(f"config {str(path)!r} does not exist{hint}")
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig) or "generator" not in cfg:
        raise ValueError(f"config {str(path)!r} has no 'generator' section; it is not a videogen3d run config")
    cfg.pop("hydra", None)
    return apply_overrides(cfg, overrides, conf_dir) if overrides else cfg


def _read_checkpoint(ckpt: Path) -> dict:
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {str(ckpt)!r} does not exist")
    try:
        return torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception:  # older checkpoints may pickle more than plain values; they are the user's own files
        try:
            return torch.load(ckpt, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise ValueError(f"checkpoint {str(ckpt)!r} is not a readable PyTorch checkpoint ({exc})") from exc


def load_generator(ckpt: str | os.PathLike, config: str | os.PathLike | None = None,
                   overrides: list[str] | tuple[str, ...] = (), device: str | torch.device = "cpu",
                   conf_dir: str | os.PathLike | None = None) -> TrainedGenerator:
    """Build ``cfg.generator`` from the run's config and load the checkpoint's ``generator.*`` weights."""
    ckpt = Path(ckpt)
    state = _read_checkpoint(ckpt)
    cfg = load_run_config(ckpt, config, overrides, conf_dir)
    weights = {k[len("generator."):]: v for k, v in state.get("state_dict", {}).items() if k.startswith("generator.")}
    if not weights:
        keys = sorted(state.get("state_dict", {}))[:5]
        raise ValueError(f"checkpoint {str(ckpt)!r} holds no 'generator.*' weights (first keys: {keys}); "
                         f"it is not a translator or GAN checkpoint")
    hparams = state.get("hyper_parameters") or {}
    noise = int(hparams.get("noise_channels") or (cfg.get("gan") or {}).get("noise_channels") or 0)
    kwargs = {"in_channels": 3 + noise} if noise else {}
    try:
        net = instantiate(cfg.generator, **kwargs)
        net.load_state_dict(weights)
    except Exception as exc:
        raise ValueError(f"the generator in the config for {str(ckpt)!r} does not match the checkpoint's "
                         f"weights ({str(exc).splitlines()[0][:300]}); pass --config with the run's own "
                         f"config") from exc
    return TrainedGenerator(net.to(device).eval(), cfg, ckpt, noise)
