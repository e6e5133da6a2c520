"""README's "What is guaranteed" figures are the sizes of the lists these tests run, not typed numbers."""

from __future__ import annotations

import re

from test_config_refusals import BAD_CONFIGS
from test_loading import BAD_CHECKPOINTS, BAD_TARGETS
from test_no_input_destroyed import EXISTING_OUTPUTS, INPUT_AS_OUTPUT
from test_no_silent_wrong import OUTSIDE
from test_stop_resume import FAULTS, MAX_STEPS_STOPS

from videogen3d.platform.corpus import write_bad_corpus
from videogen3d.utils.compose import REPO


def counts(tmp_path) -> dict[str, int]:
    corpus = len(write_bad_corpus(tmp_path / "bad"))
    return {
        "Bad configs refused": len(BAD_CONFIGS) + len(BAD_TARGETS),
        # 2 commands (translate, evaluate) per hostile checkpoint; manifests (pairs + labelled); split's
        # truncated file plus the corpus it skips
        "Bad files handled": 2 * len(BAD_CHECKPOINTS) + len(OUTSIDE) + 1 + 1 + corpus,
        # with and without --overwrite; the commands' existing outputs; the shared run folder
        "Inputs kept": 2 * len(INPUT_AS_OUTPUT) + len(EXISTING_OUTPUTS) + 1,
        # signals; max_steps stops; the SIGTERM to a train.py process; the multirun's failing job;
        # W&B refusing the key
        "Faults survived": len(FAULTS) + len(MAX_STEPS_STOPS) + 1 + 1 + 1,
    }


def test_readme_figures_are_the_tests_counts(tmp_path):
    text = (REPO / "README.md").read_text()
    section = text.split("## What is guaranteed", 1)[1].split("\n## ", 1)[0]
    for label, n in counts(tmp_path).items():
        found = re.search(rf"\*\*{label} (\d+)/(\d+)\.\*\*", section)
        assert found, f"README's 'What is guaranteed' lacks '{label} N/N'"
        assert (int(found.group(1)), int(found.group(2))) == (n, n), f"{label}: README {found.group(0)}, tests {n}"
