"""Label-driven video synthesis (seed 003): python synth.py stage=all scale=cpu (see conf/synth.yaml)."""

import hydra
from omegaconf import DictConfig

from videogen3d.synthesis.checkpoints import CheckpointError
from videogen3d.synthesis.stages import run
from videogen3d.utils.config import ConfigError


@hydra.main(version_base="1.3", config_path="conf", config_name="synth")
def main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except (ConfigError, CheckpointError) as exc:
        # a setting refused before any training, or a checkpoint missing, damaged or of other clips: the message
        # names the node or the file and what to do; no traceback
        raise SystemExit(f"synth.py: error: {exc}") from None


if __name__ == "__main__":
    main()
