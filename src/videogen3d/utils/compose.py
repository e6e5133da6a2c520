"""Compose the repository's real Hydra config from Python (tests, notebooks), optionally shrunk.

``compose_train`` is what ``python train.py ...`` would build, with ``paths`` pointed at the given
folders so nothing is written into the working tree.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

REPO = Path(__file__).resolve().parents[3]
CONF_DIR = REPO / "conf"

# a tiny clip geometry that every CPU test can afford
TINY = [
    "dataset.source.num_sequences=6",
    "dataset.source.num_frames=16",
    "dataset.frame_size=32",
    "dataset.clip_len=4",
    "dataset.batch_size=2",
    "dataset.train_clips_per_epoch=null",
    "generator.ngf=4",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.log_every_n_steps=1",
    "callbacks.model_summary=null",
    "callbacks.progress_bar=null",
    "logger=csv",
]


def compose_train(overrides: list[str], out_dir: Path, data_dir: Path, tiny: bool = True,
                  config_name: str = "train") -> DictConfig:
    """The composed ``conf/<config_name>.yaml`` with ``overrides``, writing under ``out_dir``."""
    if not CONF_DIR.is_dir():
        raise FileNotFoundError(f"no config folder at {CONF_DIR}: compose_train needs a source checkout")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=[*(TINY if tiny else []), *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out_dir)
        cfg.paths.data_dir = str(data_dir)
        cfg.paths.log_dir = str(Path(out_dir).parent / "logs")
        cfg.hydra.runtime.output_dir = str(out_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg
