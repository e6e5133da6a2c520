"""Label-driven video synthesis (seed 003): python synth.py stage=all scale=cpu (see conf/synth.yaml)."""

import hydra
from omegaconf import DictConfig

from videogen3d.synthesis.stages import run
from videogen3d.utils.config import ConfigError


@hydra.main(version_base="1.3", config_path="conf", config_name="synth")
def main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except ConfigError as exc:  # a setting refused before any training: its message names the node; no traceback
        raise SystemExit(f"synth.py: error: {exc}") from None


if __name__ == "__main__":
    main()
