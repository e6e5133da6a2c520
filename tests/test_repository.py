"""The repository as a newcomer meets it: README commands, CI script, and every config option."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]

GROUPS_TO_BUILD = ("generator", "disc", "loss", "callbacks", "logger", "optim")


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert block, "README.md must open with a code block holding the two commands"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    run_cmd, test_cmd = _readme_commands()[:2]
    assert run_cmd.endswith("python train.py")
    assert test_cmd.rstrip().endswith("pytest")
    # both set up the package with the CPU build of torch that this machine class has on disk
    assert "pip install torch==" in run_cmd and "pip install torch==" in test_cmd
    ci = (REPO / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines(), ".ci/run must run exactly the README's test command"


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize("group", [*GROUPS_TO_BUILD, "dataset", "trainer", "debug", "experiment"])
def test_every_config_option_composes(group, train_cfg, tmp_path):
    options = _options(group)
    assert options, f"conf/{group}/ is empty"
    for option in options:
        overrides = [f"{group}={option}"]
        if group == "dataset" and option == "video_pairs":
            overrides += [f"dataset.source.cond_dir={tmp_path}", f"dataset.source.target_dir={tmp_path}"]
        cfg = train_cfg(*overrides, tiny=group not in ("experiment", "dataset", "debug", "callbacks"))
        OmegaConf.resolve(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))
        if group in GROUPS_TO_BUILD:
            node = cfg.get(group)
            if group == "loss":
                for term in ("reconstruction", "adversarial"):
                    if node.get(term) is not None:
                        instantiate(node[term])
            elif group == "optim":
                assert callable(instantiate(node.generator))
            elif node is not None and "_target_" in node and node._target_ is not None:
                instantiate(node)
            elif node is not None and group in ("callbacks", "logger"):
                for sub in node.values():
                    if sub is not None and "_target_" in sub:
                        instantiate(sub)
        if group == "experiment":
            # the seed's trials at the seed's scale: the generator is built (no forward) and
            # its counted layers match what the experiment states
            net = instantiate(cfg.generator)
            assert net.conv_layers == cfg.generator.conv_layers, option


def _has_optuna_sweeper() -> bool:
    try:
        return importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(not _has_optuna_sweeper(),
                    reason="the optuna sweeper is an optional extra: pip install -e '.[sweep]'")
def test_hparams_search_composes(train_cfg):
    train_cfg("hparams_search=optuna")


def test_sweep_files_name_existing_experiments():
    experiments = set(_options("experiment"))
    for sweep in (REPO / "sweeps").glob("*.yaml"):
        values = OmegaConf.load(sweep).parameters.experiment["values"]
        assert set(values) <= experiments, f"{sweep.name} names {set(values) - experiments}"
    assert {f"A-{i}" for i in range(1, 21)} <= experiments


def test_no_machine_paths_in_tracked_text():
    bad = re.compile(r"/(work|root|home/\w+)/")
    for path in [*REPO.glob("*.md"), *REPO.glob("conf/**/*.yaml"), *REPO.glob("src/**/*.py")]:
        assert not bad.search(path.read_text()), f"{path} mentions a path of this machine"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces to ``-``."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))])
def test_every_relative_link_and_image_of_the_docs_exists(doc):
    """A link or image of README.md or docs/*.md that points into the repository names a file there, and an
    anchor into a markdown file names one of its headings (the README's seed-003 part links its experiment log)."""
    path = REPO / doc
    targets = re.findall(r"\]\(([^)\s]+)\)", path.read_text())
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, f"{doc} links nothing in the repository"
    for target in local:
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.is_file() or dest.is_dir(), f"{doc}: link ({target}) names no file ({dest.relative_to(REPO)})"
        if anchor and dest.suffix == ".md":
            headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(), re.M)}
            assert anchor in headings, f"{doc}: link ({target}) names no heading of {dest.name}"
