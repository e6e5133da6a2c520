"""A run's config as ``train.py`` built it, with more overrides, composed by Hydra (seed 000 §5.3).

``@hydra.main`` leaves three files in ``<run_dir>/.hydra/``: ``config.yaml`` (the composed
config), ``overrides.yaml`` (the command line's overrides) and ``hydra.yaml``. With no extra
overrides the saved ``config.yaml`` is used as it is. With overrides (``evaluate <ckpt>
disc=conv5``), Hydra's compose API rebuilds the config from ``conf/`` with the run's own overrides
followed by the new ones, so an option that inherits (``conv5.yaml`` has ``defaults: [conv]``)
gets its full node, exactly as ``python train.py <run overrides> disc=conv5`` would. The run's
``paths`` are kept (its data cache and output folder), unless an override names ``paths.*``.

A run folder may come from someone else, so every ``_target_`` in it is checked against an
allow-list before anything is instantiated (:func:`videogen3d.utils.config.check_targets`).
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from videogen3d.utils.config import check_targets

__all__ = ["run_config_path", "default_conf_dir", "load_run_config", "compose_run_config"]


def run_config_path(ckpt: str | os.PathLike) -> Path:
    """``<run_dir>/.hydra/config.yaml`` for ``<run_dir>/checkpoints/<name>.ckpt``."""
    return Path(ckpt).resolve().parent.parent / ".hydra" / "config.yaml"


def default_conf_dir() -> Path | None:
    """The repository's ``conf/`` (source checkout) or ``./conf``; None when neither exists."""
    for candidate in (Path(__file__).resolve().parents[3] / "conf", Path.cwd() / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    return None


def _key(item: str) -> str:
    return item.split("=", 1)[0].lstrip("+~")


def compose_run_config(run_overrides: list[str], overrides: list[str] | tuple[str, ...],
                       conf_dir: str | os.PathLike | None = None, config_name: str = "train") -> DictConfig:
    """``conf/<config_name>.yaml`` composed by Hydra with ``run_overrides`` then ``overrides``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException

    root = Path(conf_dir) if conf_dir else default_conf_dir()
    if root is None or not (root / f"{config_name}.yaml").is_file():
        raise FileNotFoundError(f"overrides need the repository's conf/ folder ({config_name}.yaml) to compose "
                                f"from; none found (pass --conf-dir)")
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r}: expected key=value (e.g. dataset.batch_size=4 or dataset=video_pairs)")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(root.resolve()), version_base="1.3"):
            return compose(config_name, overrides=[*run_overrides, *overrides])
    except MissingConfigException as exc:  # an unknown option: Hydra lists the valid ones
        raise FileNotFoundError(f"overrides {list(overrides)}: {' '.join(str(exc).split())}") from exc
    except HydraException as exc:
        raise ValueError(f"overrides {list(overrides)}: {' '.join(str(exc).split())}") from exc
    finally:
        GlobalHydra.instance().clear()


def load_run_config(ckpt: str | os.PathLike, config: str | os.PathLike | None = None,
                    overrides: list[str] | tuple[str, ...] = (), conf_dir: str | os.PathLike | None = None
                    ) -> DictConfig:
    """The run's config without its ``hydra`` key, with ``overrides`` applied as on train.py's command
    line; every ``_target_`` in the result is on the allow-list."""
    path = Path(config) if config is not None else run_config_path(ckpt)
    if not path.is_file():
        hint = "" if config is not None else (
            f" (the run's config, two levels above the checkpoint {str(ckpt)!r}; pass --config with the "
            f"YAML of the run that wrote it)")
        raise FileNotFoundError(f"config {str(path)!r} does not exist{hint}")
    saved = OmegaConf.load(path)
    if not isinstance(saved, DictConfig) or "generator" not in saved:
        raise ValueError(f"config {str(path)!r} has no 'generator' section; it is not a videogen3d run config")
    saved.pop("hydra", None)
    check_targets(saved, str(path))  # refuse before anything else reads it
    if not overrides:
        return saved
    run_file = path.parent / "overrides.yaml"
    if not run_file.is_file():
        raise FileNotFoundError(f"overrides {list(overrides)} need the run's own overrides, {str(run_file)!r} "
                                f"(train.py writes it beside config.yaml); it does not exist")
    run_overrides = OmegaConf.load(run_file)
    if not isinstance(run_overrides, ListConfig) or not all(isinstance(x, str) for x in run_overrides):
        raise ValueError(f"{str(run_file)!r} is not a list of overrides")
    cfg = compose_run_config(list(run_overrides), overrides, conf_dir)
    with open_dict(cfg):
        if "paths" in saved and not any(_key(o) == "paths" or _key(o).startswith("paths.") for o in overrides):
            cfg.paths = saved.paths  # the run's own data cache and output folder
    check_targets(cfg, f"{str(path)!r} with overrides {list(overrides)}")
    return cfg
