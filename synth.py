"""Label-driven video synthesis (seed 003): python synth.py stage=all scale=cpu (see conf/synth.yaml)."""

import hydra
from omegaconf import DictConfig

from videogen3d.synthesis.stages import run


@hydra.main(version_base="1.3", config_path="conf", config_name="synth")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
