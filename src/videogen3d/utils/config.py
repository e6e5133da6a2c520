"""Config helpers: build lists of callbacks/loggers and check a composed config before work starts."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from videogen3d.utils.io import TRUST_HINT, load_tensors_inert, load_tensors_only

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry with a ``_target_`` in a group such as ``callbacks`` or ``logger``."""
    if not group:
        return []
    if not isinstance(group, DictConfig):
        raise TypeError(f"expected a config mapping of name -> component, got {type(group).__name__}")
    return [instantiate(node) for node in group.values() if isinstance(node, DictConfig) and "_target_" in node]


class ConfigError(ValueError):
    """A config refused before any work starts; the message names the key, the value and the fix."""


def check_whole(key: str, value: object, what: str = "a whole number") -> int:
    """``value`` if it is an int >= 1 (not a bool), else a :class:`ConfigError` naming ``key`` and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}={value!r} must be {what} >= 1")
    return value


def check_config(cfg: DictConfig) -> None:
    """Refuse, before any data is rendered: a missing mandatory value (``???``), an unknown top-level
    key added with ``+key=...``, a negative or non-numeric weight, rate, count or seed, and a run
    folder that already holds another run. ``ckpt_path=last`` is resolved to the newest run's
    ``last.ckpt`` (see :func:`resolve_ckpt_path`)."""
    run_config = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # compose() may add hydra
    missing = sorted(OmegaConf.missing_keys(run_config))
    if missing:
        raise ConfigError(
            "these config values must be set on the command line or in an experiment file: "
            + ", ".join(missing) + " (e.g. `python train.py " + " ".join(f"{k}=..." for k in missing[:2]) + "`)"
        )
    check_added_keys(cfg)
    check_values(cfg)
    resolve_ckpt_path(cfg)
    check_ckpt_file(cfg)
    check_run_dir(cfg)


def _hydra_cfg() -> DictConfig | None:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def check_added_keys(cfg: DictConfig) -> None:
    """Refuse ``+key=value`` / ``++key=value`` that add a top-level key the config does not have
    (Hydra allows adding keys; a typo such as ``+sed=1`` would otherwise be ignored silently)."""
    hydra = _hydra_cfg()
    if hydra is None:
        return
    groups = set(hydra.runtime.choices or {})
    added = []
    for item in hydra.overrides.task:
        key = str(item).split("=", 1)[0]
        if key.startswith("+") and "." not in key.lstrip("+") and "/" not in key and key.lstrip("+") not in groups:
            added.append(key.lstrip("+"))
    if added:
        valid = sorted(k for k in cfg if k != "hydra" and k not in added)
        raise ConfigError(f"unknown top-level key(s) {added} (added with +{added[0]}=...); this config has "
                          f"no such setting. Valid top-level keys: {', '.join(valid)}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


# (key pattern, rule): "*" matches one key level. rule: (kind, lower bound, inclusive, nullable)
VALUE_RULES: list[tuple[str, tuple[str, float, bool, bool]]] = [
    ("seed", ("int", 0, True, True)),
    ("loss.lambda_rec", ("float", 0, True, True)),
    ("loss.feature_matching", ("float", 0, True, True)),
    ("optim.*.lr", ("float", 0, False, False)),
    ("optim.*.weight_decay", ("float", 0, True, True)),
    ("optim.*.momentum", ("float", 0, True, True)),
    ("task.d_steps", ("int", 0, True, False)),  # the GAN refuses d_steps = g_steps = 0 itself
    ("task.g_steps", ("int", 0, True, False)),
    ("task.noise_channels", ("int", 0, True, True)),
    ("task.gradient_clip_val", ("float", 0, False, True)),
    ("dataset.batch_size", ("int", 1, True, False)),
    ("dataset.clip_len", ("int", 1, True, False)),
    ("trainer.max_epochs", ("int", -1, True, True)),
    ("trainer.gradient_clip_val", ("float", 0, True, True)),
]


def _expand(cfg: DictConfig, pattern: str) -> list[str]:
    keys = [""]
    for part in pattern.split("."):
        nxt = []
        for k in keys:
            node = OmegaConf.select(cfg, k, throw_on_resolution_failure=False) if k else cfg
            if not isinstance(node, DictConfig):
                continue
            if part == "*":
                names = [str(n) for n in node if isinstance(node._get_node(n), DictConfig)]
            else:
                names = [part] if part in node else []
            nxt += [f"{k}.{n}" if k else n for n in names]
        keys = nxt
    return keys


def check_values(cfg: DictConfig) -> None:
    """Refuse negative or non-numeric weights, learning rates, step counts and seeds, naming the key
    (``loss.lambda_rec=-1`` would silently drop the reconstruction term; ``optim.generator.lr=abc``
    would fail deep inside the optimizer)."""
    bad = []
    for pattern, (kind, low, inclusive, nullable) in VALUE_RULES:
        for key in _expand(cfg, pattern):
            try:
                value = OmegaConf.select(cfg, key)
            except Exception:  # an interpolation that cannot be resolved here is checked where it is used
                continue
            if value is None:
                if not nullable:
                    bad.append(f"{key}=null (needs a number)")
                continue
            num = _number(value)
            whole = kind == "float" or (num is not None and float(num).is_integer() and not isinstance(value, float))
            ok = num is not None and whole and (num >= low if inclusive else num > low)
            if not ok:
                want = ("an integer" if kind == "int" else "a number") + (f" >= {low:g}" if inclusive else f" > {low:g}")
                bad.append(f"{key}={value!r} (needs {want}{' or null' if nullable else ''})")
    if bad:
        raise ConfigError("invalid config value(s): " + "; ".join(bad))


def _run_checkpoints(log_dir: Path, task_name: str) -> list[Path]:
    """``last*.ckpt`` of the task's runs (``<log_dir>/<task>/runs/*``) and of multirun jobs
    (``<log_dir>/multiruns/*/*``, conf/hydra) whose saved config names the same ``task_name``."""
    found = list((log_dir / task_name).glob("runs/*/checkpoints/last*.ckpt"))
    for ckpt in log_dir.glob("multiruns/*/*/checkpoints/last*.ckpt"):
        saved = ckpt.parent.parent / ".hydra" / "config.yaml"
        try:
            same = saved.is_file() and OmegaConf.load(saved).get("task_name") == task_name
        except Exception:  # an unreadable config: not a run of this task
            same = False
        if same:
            found.append(ckpt)
    return found


def resolve_ckpt_path(cfg: DictConfig) -> None:
    """``ckpt_path=last``: the newest ``last.ckpt`` under ``paths.log_dir/task_name`` (runs and multiruns),
    so "resume the last run" needs no path; an error names where it looked when there is none."""
    if cfg.get("ckpt_path") != "last":
        return
    log_dir, task = Path(cfg.paths.log_dir), str(cfg.get("task_name", "train"))
    found = _run_checkpoints(log_dir, task)  # this run's own folder too: a resume continues there (conf/hydra)
    if not found:
        raise ConfigError(f"ckpt_path=last: no last.ckpt under {str(log_dir / task)!r} (runs/*/checkpoints/) nor "
                          f"under {str(log_dir / 'multiruns')!r} for task_name={task}; give the checkpoint's path instead")
    newest = max(found, key=lambda p: p.stat().st_mtime)
    log.info("ckpt_path=last: resuming from %s", newest)
    with open_dict(cfg):
        cfg.ckpt_path = str(newest)


def check_ckpt_file(cfg: DictConfig) -> None:
    """Refuse a resume checkpoint (``ckpt_path``) that is missing, a folder, empty, cut short, not a torch
    checkpoint, or (unless ``trust_checkpoint``, which still checks it reads) holding objects other than tensors, naming the file, before
    any data is rendered; Lightning would fail on it only later, with a traceback. The tensors are memory-mapped,
    not read, so a large checkpoint costs little here."""
    path = cfg.get("ckpt_path")
    if path is None:
        return
    file = Path(str(path))
    if not file.is_file():
        raise ConfigError(f"ckpt_path={str(path)!r}: {'a folder, not a checkpoint file' if file.is_dir() else 'no such file'}")
    if cfg.get("trust_checkpoint", False):  # readable? its objects stay inert here; Lightning unpickles it, as asked
        state = load_tensors_inert(file, "ckpt_path: the checkpoint", ConfigError)
    else:
        state = load_tensors_only(file, "ckpt_path: the checkpoint", ConfigError, mmap=zipfile.is_zipfile(file),
                                  trust_hint=TRUST_HINT)
    if not isinstance(state, dict):
        raise ConfigError(f"ckpt_path: the checkpoint {str(path)!r} holds a {type(state).__name__}, not a checkpoint dict")


def check_run_dir(cfg: DictConfig) -> None:
    """Refuse a run folder that already holds another run's metrics or checkpoints (two runs with one
    ``hydra.run.dir`` would mix their rows in one metrics.csv and overwrite each other's files);
    resuming a checkpoint of that very folder is allowed."""
    out = OmegaConf.select(cfg, "paths.output_dir", throw_on_resolution_failure=False)
    if not out:
        return
    out = Path(str(out))
    held = [p for p in (out / "csv" / "metrics.csv", out / "checkpoints") if p.exists() and
            (p.is_file() or any(p.glob("*.ckpt")))]
    if not held:
        return
    ckpt = cfg.get("ckpt_path")
    if ckpt and out.resolve() in Path(str(ckpt)).resolve().parents:
        return  # continuing this folder's own run
    raise ConfigError(f"run folder {str(out)!r} already holds a run ({', '.join(str(p.relative_to(out)) for p in held)}); "
                      f"pick another hydra.run.dir (or leave it to the default, one folder per start), or resume "
                      f"that run with ckpt_path={str(out / 'checkpoints' / 'last.ckpt')}")


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
