"""Every documented ``python -m videogen3d.synthesis.motion`` line runs as written (the rest of the documented lines:
test_documented_commands.py): tiny readers trained into the ``--readers`` folder it names where none are, and an
untrained still-frame guide written into the ``--checkpoints`` folder, at one tiny geometry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from _doc_commands import Command, documented_commands
from hydra.utils import instantiate

MOTION = [c for c in documented_commands() if c.line.startswith("python -m videogen3d.synthesis.motion")]


def test_the_documentation_shows_a_motion_line():
    assert MOTION, "the README shows no python -m videogen3d.synthesis.motion line"


@pytest.mark.parametrize("cmd", MOTION, ids=[c.source for c in MOTION])
def test_documented_motion_line(cmd: Command, tmp_path: Path, monkeypatch):
    from videogen3d.data.moving_objects import CLASS_NAMES
    from videogen3d.synthesis.checkpoints import MODULE_CONFIG_KEY
    from videogen3d.synthesis.motion import main as motion
    from videogen3d.synthesis.readers import main as readers

    monkeypatch.chdir(tmp_path)
    args = cmd.argv[3:]
    if "--readers" in args:
        folder = args[args.index("--readers") + 1]
        assert readers(["train", "--out", folder, "--frame-size", "16", "16", "--clip-len", "4", "--clips-per-class", "2",
                        "--epochs", "1", "--readers", "check1,check5"]) == 0
    if "--checkpoints" in args:
        folder = Path(args[args.index("--checkpoints") + 1])
        folder.mkdir(parents=True, exist_ok=True)
        geo = {"class_names": list(CLASS_NAMES), "clip_len": 4, "frame_size": [16, 16]}
        node = {"_target_": "videogen3d.tasks.classifier.VideoClassifier", **geo,
                "net": {"_target_": "videogen3d.models.tsm.TemporalShiftNet", "widths": [4, 4, 4], "shift": False,
                        "num_classes": len(CLASS_NAMES), "clip_len": 4, "frame_size": [16, 16]}}
        torch.save({"state_dict": instantiate(node, _convert_="all").state_dict(), MODULE_CONFIG_KEY: node},
                   folder / "classifier_still.ckpt")
    assert motion([*args, "--clips-per-class", "1", "--json", "motion.json"]) == 0, cmd
    shares = json.loads(Path("motion.json").read_text())
    assert len(shares) == ("--readers" in args) * 2 + ("--checkpoints" in args), shares
