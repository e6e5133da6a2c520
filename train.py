"""Train a video translator or conditional GAN: `python train.py generator=resnet_v4 disc=resnet11`."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from videogen3d.train import train
from videogen3d.utils.config import ConfigError


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        results = train(cfg)
    except ConfigError as exc:  # a refused config: its message names the key; no traceback
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # Hydra records the failed job; the sweep goes on with the others
        raise SystemExit(f"train.py: error: {exc}") from None
    # the value a Hydra sweeper optimises
    metric = cfg.get("optimized_metric")
    return results.get(metric) if metric else None


if __name__ == "__main__":
    main()
