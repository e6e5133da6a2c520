"""Every command line the documentation shows runs as written, on the CPU, shrunk only by appended overrides.

The lines come from the files themselves (``_doc_commands.documented_commands``), so a new line in
README.md, sweeps/README.md, CONTRIBUTING.md or a YAML header is covered without editing this test,
and a line whose program no runner here knows fails, asking for one. How each kind runs:

- ``python train.py ARGS``: composed with Hydra exactly as written, then trained in-process with
  appended overrides (``trainer.fast_dev_run=true``, a tiny clip geometry and data set, CPU). A line
  for a GPU or a cluster (``trainer=gpu|ddp``, a launcher) is composed as written and its task,
  networks included, instantiated (``--cfg job`` plus instantiation). ``-m`` lines are expanded by
  Hydra's own override parser into their jobs, each composed; up to four jobs of a CPU line also train.
- ``python synth.py ARGS``: ``scale=tiny`` appended, in one shared folder in document order, so later stages
  reuse the checkpoints of earlier ones. A single run is composed with Hydra as written and run in-process
  (``run(cfg)``, what the program's main does); a ``-m`` line runs as a subprocess (Hydra's own multirun), and a
  GPU line as a subprocess with ``--cfg job``.
- ``videogen3d ARGS``: the CLI in-process, in a fresh copy of a sandbox that holds the files the
  documentation names (clips/, data/sticks, data/dancers, data/actions, input.mp4, real.mp4, pairs.csv,
  frames/dance01 and a tiny trained run for ``<run>``).
- ``python -m videogen3d.bench ARGS``: in-process with ``--tiny --device cpu`` appended (the size CI runs);
  a line that asks for ``torch.compile`` compiles for minutes on a 2-core CPU, so it is marked ``slow``
  (``pytest -m slow`` runs it) - the one documented line CI leaves out.
- ``pip install``, ``python3 -m venv``, ``pytest``, ``wandb``: the extras named exist in pyproject.toml;
  the README's two set-up lines are tests/test_repository.py's; a sweep file named exists and parses;
  ``wandb agent`` needs a W&B server and is the one line kind not run.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from _doc_commands import REPO, Command, documented_commands
from _synth_helpers import build, save_module, save_untrained_c3d
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from videogen3d.utils.compose import compose_train
from videogen3d.utils.task_config import check_task

COMMANDS = documented_commands()
GPU_OR_CLUSTER = re.compile(r"(^|\s)(trainer=(gpu|ddp)\b|hydra/launcher=|trainer\.devices=[2-9])")
# appended to a CPU train line; each key only where the composed config has it
SHRINK = {
    "dataset.source.num_sequences": "6", "dataset.source.num_frames": "16", "dataset.frame_size": "32",
    "dataset.clip_len": "4", "dataset.batch_size": "2", "dataset.train_clips_per_epoch": "null",
    "generator.ngf": "4", "disc.ndf": "4", "trainer.fast_dev_run": "true", "trainer.accelerator": "cpu",
    "trainer.devices": "1", "baselines": "false",
    "callbacks.model_summary": "null", "callbacks.progress_bar": "null",
}


def _ids(cmds: list[Command]) -> list[str]:
    return [f"{c.source}" for c in cmds]


def _kind(cmd: Command) -> str:
    line = cmd.line
    for prefix, kind in (("python train.py", "train"), ("python synth.py", "synth"), ("videogen3d ", "cli"),
                         ("python -m videogen3d", "module"), ("wandb ", "wandb"), ("pip install", "setup"),
                         ("python3 -m venv", "setup"), ("pytest", "setup")):
        if line.startswith(prefix):
            return kind
    return "unknown"


def test_the_documentation_shows_commands_and_every_kind_has_a_runner():
    assert len(COMMANDS) >= 40, [str(c) for c in COMMANDS]
    unknown = [str(c) for c in COMMANDS if _kind(c) == "unknown"]
    assert not unknown, f"no runner in this test for these documented lines: {unknown}"
    assert any(c.line == "python train.py generator=resnet_v4 disc=resnet11" for c in COMMANDS)


# ------------------------------------------------------------------------------------ sandbox
def _write_video(path: Path, n: int = 16, size: int = 32, seed: int = 0) -> None:
    """With the suite's own PyAV writer (tests/conftest.py, loaded by path: ``conftest`` names several)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_root_conftest", REPO / "tests" / "conftest.py")
    root = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root)
    root.encode_mp4(path, root.smooth_frames(n, (size, size), seed), fps=10)


@pytest.fixture(scope="module")
def sandbox_template(tmp_path_factory, shared_data_dir) -> Path:
    """The files the documented lines name, and one tiny run trained by the real ``python train.py``."""
    root = tmp_path_factory.mktemp("docs_sandbox")
    for i, name in enumerate(("c1", "c2")):
        _write_video(root / "clips" / f"{name}.mp4", seed=i)
    for i, name in enumerate(("d1", "d2", "d3")):
        _write_video(root / "data" / "sticks" / f"{name}.mp4", seed=10 + i)
        _write_video(root / "data" / "dancers" / f"{name}.mp4", seed=20 + i)
    for cls in ("walk", "wave"):
        for i in range(2):
            _write_video(root / "data" / "actions" / cls / f"{cls}{i}.mp4", seed=30 + i)
    _write_video(root / "input.mp4", n=20, seed=40)
    _write_video(root / "real.mp4", n=20, seed=41)
    from videogen3d.cli import main as cli

    cwd = Path.cwd()
    os.chdir(root)  # relative paths, as the README's lines write them (a manifest may not point outside)
    try:
        assert cli(["build", "pairs", "--cond", "data/sticks", "--target", "data/dancers", "--out", "pairs.csv"]) == 0
        assert cli(["split", "clips/c1.mp4", "--out", "frames"]) == 0
    finally:
        os.chdir(cwd)
    (root / "frames" / "c1").rename(root / "frames" / "dance01")
    run = root / "logs" / "train" / "runs" / "r1"
    shrink = [f"{k}={v}" for k, v in SHRINK.items() if k not in ("trainer.fast_dev_run", "disc.ndf")]
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *shrink, "trainer.max_epochs=1",
                           "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                           f"paths.data_dir={shared_data_dir}", f"hydra.run.dir={run}"],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / ".hydra" / "config.yaml").is_file()
    shutil.copytree(run, root / "logs" / "multiruns" / "m1" / "0_r1_seed42")  # `<date>_<time>`: a multirun
    return root


@pytest.fixture
def sandbox(sandbox_template, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, root)
    monkeypatch.chdir(root)
    return root


def _fill(line: str) -> str:
    """The documentation's placeholders, filled with the sandbox's run and multirun."""
    return line.replace("<run>", "r1").replace("<date>_<time>", "m1")


# --------------------------------------------------------------------------------- train.py
def _compose(args: list[str], out: Path, data: Path, shrink: bool):
    overrides = list(args)
    if shrink:
        probe = compose_train(overrides, out, data, tiny=False)
        overrides += [f"{k}={v}" for k, v in SHRINK.items() if OmegaConf.select(probe, k, default="<none>") != "<none>"]
    return compose_train(overrides, out, data, tiny=False)


def _job_overrides(args: list[str]) -> list[list[str]]:
    """A -m line's jobs, as Hydra's basic sweeper expands them (glob over a group's option files)."""
    parsed = OverridesParser.create().parse_overrides(args)
    axes: list[list[str]] = []
    for ov in parsed:
        key = ov.get_key_element()
        if ov.is_sweep_override():
            value = ov.value()
            if type(value).__name__ == "Glob":
                options = sorted(p.stem for p in (REPO / "conf" / key).glob("*.yaml"))
                values = value.filter(options)
            else:
                values = list(ov.sweep_string_iterator())
            axes.append([f"{key}={v}" for v in values])
        else:
            axes.append([f"{key}={ov.get_value_element_as_str()}"])
    jobs: list[list[str]] = [[]]
    for axis in axes:
        jobs = [job + [item] for job in jobs for item in axis]
    return jobs


TRAIN = [c for c in COMMANDS if _kind(c) == "train"]


@pytest.mark.parametrize("cmd", TRAIN, ids=_ids(TRAIN))
def test_documented_train_line(cmd: Command, sandbox: Path, shared_data_dir: Path, monkeypatch):
    from videogen3d.train import train

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    args = _fill(cmd.line).split(" ", 2)[2:] if cmd.line != "python train.py" else []
    args = args[0].split() if args else []
    multirun = "-m" in args or "--multirun" in args
    args = [a.strip("'\"") for a in args if a not in ("-m", "--multirun")]
    if any(a.startswith(("hparams_search=optuna",)) for a in args):
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="documented after `pip install -e .[sweep]`")
    if any("submitit" in a for a in args):
        pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="documented after `pip install -e .[cluster]`")
    jobs = _job_overrides(args) if multirun else [args]
    gpu = bool(GPU_OR_CLUSTER.search(cmd.line))
    for i, job in enumerate(jobs):
        out = sandbox / "out" / str(i)
        if gpu or i >= 4:  # as written, then instantiated: the task with its networks
            cfg = _compose(job, out, shared_data_dir, shrink=False)
            check_task(cfg)
            with torch.device("meta"):
                module = instantiate(cfg.task)
            assert sum(p.numel() for p in module.parameters()) > 0
            OmegaConf.to_container(cfg.trainer, resolve=True)
            continue
        cfg = _compose(job, out, shared_data_dir, shrink=True)
        results = train(cfg)
        assert results["global_step"] >= 1, (cmd, job)
        GlobalHydra.instance().clear()


# --------------------------------------------------------------------------------- synth.py
SYNTH = [c for c in COMMANDS if _kind(c) == "synth"]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth_docs")


@pytest.mark.parametrize("cmd", SYNTH, ids=_ids(SYNTH))
def test_documented_synth_line(cmd: Command, synth_dir: Path, shared_data_dir: Path, monkeypatch):
    args = cmd.argv[2:]
    gpu = bool(GPU_OR_CLUSTER.search(cmd.line))
    if "-m" in args or "--multirun" in args or gpu:  # Hydra's own multirun / --cfg job: the program itself
        extra = ["--cfg", "job"] if gpu else ["scale=tiny"]
        env = {**os.environ, "VIDEOGEN3D_DATA": str(shared_data_dir)}
        proc = subprocess.run([sys.executable, str(REPO / "synth.py"), *args, *extra], cwd=synth_dir, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return
    # a single run: what synth.py's main does (run on the config Hydra composes from the line), in this process,
    # which saves a new interpreter's ~4 s of imports per line; relative paths from the shared folder, as above
    from videogen3d.synthesis.stages import run

    monkeypatch.chdir(synth_dir)
    cfg = compose_train([*args, "scale=tiny"], synth_dir / "outputs" / cmd.source.replace(":", "_"), shared_data_dir,
                        tiny=False, config_name="synth")
    with open_dict(cfg):
        cfg.paths.log_dir = str(synth_dir / "logs")  # the program's default under its working folder
    run(cfg)
    GlobalHydra.instance().clear()


# ------------------------------------------------------------------------------- videogen3d
CLI = [c for c in COMMANDS if _kind(c) == "cli"]


@pytest.mark.parametrize("cmd", CLI, ids=_ids(CLI))
def test_documented_cli_line(cmd: Command, sandbox: Path):
    from videogen3d.cli import main as cli

    argv: list[str] = []
    for arg in Command(cmd.source, _fill(cmd.line)).argv[1:]:
        argv += sorted(glob.glob(arg)) or [arg] if "*" in arg else [arg]
    if "--out" in argv:  # the sandbox holds some outputs already (pairs.csv): the line must make its own
        target = sandbox / argv[argv.index("--out") + 1]
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    assert cli(argv) == 0, cmd
    if "--out" in argv:
        assert (sandbox / argv[argv.index("--out") + 1]).exists(), cmd


# ---------------------------------------------------------------------------- set-up, wandb
BENCH = [c for c in COMMANDS if _kind(c) == "module" and not c.line.startswith(("python -m videogen3d.synthesis.readers",
                                                                                  "python -m videogen3d.synthesis.robustness",
                                                                                  "python -m videogen3d.synthesis.figures",
                                                                                  "python -m videogen3d.synthesis.reconstruction",
                                                                                  "python -m videogen3d.synthesis.motion"))]
READERS = [c for c in COMMANDS if c.line.startswith("python -m videogen3d.synthesis.readers")]


@pytest.mark.parametrize("cmd", [pytest.param(c, marks=pytest.mark.slow) if "compile" in c.line else c for c in BENCH],
                         ids=_ids(BENCH))
def test_documented_bench_line(cmd: Command, tmp_path: Path, shared_data_dir: Path):
    from videogen3d.bench.__main__ import main as bench

    assert cmd.argv[:3] == ["python", "-m", "videogen3d.bench"], f"{cmd}: no runner for this module"
    args = cmd.argv[3:]
    name, rest = args[0], args[1:]
    out = tmp_path / "bench"
    assert bench([name, *rest, "--tiny", "--device", "cpu", "--out", str(out), "--data-dir", str(shared_data_dir)]) == 0
    assert (out / f"{name}.json").is_file(), cmd


@pytest.fixture(scope="module")
def readers_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readers_docs")


@pytest.mark.parametrize("cmd", READERS, ids=_ids(READERS))
def test_documented_readers_line(cmd: Command, readers_dir: Path, monkeypatch):
    """``train`` with appended ``--clips-per-class 2 --epochs 1`` and a 16x16, 4-frame geometry; ``score`` and
    ``objects`` on the videos file the line names, written here at that geometry, with readers trained first where
    none are."""
    from videogen3d.data.moving_objects import CLASS_NAMES
    from videogen3d.losses.synthesis import parse_targets
    from videogen3d.synthesis.outputs import write_synthesis
    from videogen3d.synthesis.readers import main as readers

    monkeypatch.chdir(readers_dir)
    args = cmd.argv[3:]
    tiny = ["--frame-size", "16", "16", "--clip-len", "4", "--clips-per-class", "2", "--epochs", "1"]
    assert args and args[0] in ("train", "score", "objects"), f"{cmd}: a documented readers line names train, score or objects"
    if args[0] == "train":
        assert readers([*args, *tiny]) == 0, cmd
        out = Path(args[args.index("--out") + 1])
        assert any(out.glob("check*.pt")), cmd
        return
    folder = args[args.index("--readers") + 1]
    if not any(Path(folder).glob("check*.pt")):
        assert readers(["train", "--out", folder, *tiny]) == 0
    for name in (a for a in args[1:] if a.endswith(".pt")):
        t, names = parse_targets([*CLASS_NAMES, "car_right+rocket_up"], list(CLASS_NAMES))
        write_synthesis(Path(name).parent, torch.rand(len(t), 3, 4, 16, 16) * 2 - 1, names, t, {}, CLASS_NAMES, mp4=False)
    if "--judge" in args:  # a run's judge: an untrained tiny C3D of that geometry
        save_untrained_c3d(Path(args[args.index("--judge") + 1]), clip_len=4, frame_size=[16, 16], pools=2)
    assert readers(args) == 0, cmd


ROBUSTNESS = [c for c in COMMANDS if c.line.startswith("python -m videogen3d.synthesis.robustness")]


@pytest.mark.parametrize("cmd", ROBUSTNESS, ids=_ids(ROBUSTNESS))
def test_documented_robustness_line(cmd: Command, tmp_path: Path, monkeypatch):
    """The line with each checkpoint it names written here (an untrained tiny C3D, 8 frames of 32x24), one clip per
    class and one PGD step appended."""
    from videogen3d.synthesis.robustness import main as robustness

    monkeypatch.chdir(tmp_path)
    args = cmd.argv[3:]
    named = [a for a in args if a.endswith(".ckpt")]
    assert named, f"{cmd}: a documented robustness line names checkpoints"
    for name in named:
        save_untrained_c3d(Path(name))
    assert robustness([*args, "--clips-per-class", "1", "--steps", "1"]) == 0, cmd


FIGURES = [c for c in COMMANDS if c.line.startswith("python -m videogen3d.synthesis.figures")]


@pytest.mark.parametrize("cmd", FIGURES, ids=_ids(FIGURES))
def test_documented_figures_line(cmd: Command, tmp_path: Path, monkeypatch):
    """The line on a run written here: two targets' videos (8 frames of 16x12) of the method it names (``--method``,
    default best) in the work_dir it names, and a methods.png; every figure it promises is written."""
    from videogen3d.data.moving_objects import CLASS_NAMES
    from videogen3d.data.video_io import write_png
    from videogen3d.losses.synthesis import parse_targets
    from videogen3d.synthesis.figures import main as figures
    from videogen3d.synthesis.outputs import write_synthesis

    monkeypatch.chdir(tmp_path)
    args = cmd.argv[3:]
    work = Path(args[0])
    method = args[args.index("--method") + 1] if "--method" in args else "best"
    t, names = parse_targets(["car_right", "car_right+rocket_up"], list(CLASS_NAMES), 2)
    write_synthesis(work / "synthesis" / method, torch.rand(len(t), 3, 8, 12, 16) * 2 - 1, names, t, {}, CLASS_NAMES,
                    mp4=False)
    write_png(work / "methods.png", torch.zeros(12, 16, 3, dtype=torch.uint8))
    paths = figures(args)
    assert len(paths) == 4 and all(p.is_file() for p in paths), cmd


RECONSTRUCTION = [c for c in COMMANDS if c.line.startswith("python -m videogen3d.synthesis.reconstruction")]


@pytest.mark.parametrize("cmd", RECONSTRUCTION, ids=_ids(RECONSTRUCTION))
def test_documented_reconstruction_line(cmd: Command, tmp_path: Path, monkeypatch):
    """The line with the clip VAE checkpoint it names written here (an untrained tiny one, 8 frames of 32x24), one
    clip per class appended; the figure it asks for is written."""
    from videogen3d.data.moving_objects import CLASS_NAMES
    from videogen3d.synthesis.reconstruction import main as reconstruction

    monkeypatch.chdir(tmp_path)
    node = {"_target_": "videogen3d.tasks.vae.ClipVAEModule", "clip_len": 8, "frame_size": [24, 32],
            "net": {"_target_": "videogen3d.models.clip_vae.ClipVAE", "latent_dim": 4, "widths": [8, 8, 8],
                    "clip_len": 8, "frame_size": [24, 32]}}
    args = cmd.argv[3:]
    save_module(build(node), node, Path(args[0]))
    errors = reconstruction([*args, "--clips-per-class", "1"])
    assert list(errors) == [*CLASS_NAMES, "mean"], cmd
    if "--png" in args:
        png = Path(args[args.index("--png") + 1])
        assert png.is_file() and png.stat().st_size > 0, cmd


OTHER = [c for c in COMMANDS if _kind(c) in ("setup", "wandb")]


@pytest.mark.parametrize("cmd", OTHER, ids=_ids(OTHER))
def test_documented_setup_and_wandb_line(cmd: Command):
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for named in re.findall(r"\.\[([\w,]+)\]", cmd.line):
        assert set(named.split(",")) <= extras, f"{cmd}: pyproject.toml has extras {sorted(extras)}"
    if cmd.line.startswith("wandb sweep"):
        sweep = REPO / cmd.argv[2]
        spec = OmegaConf.load(sweep)
        assert {"program", "method", "parameters"} <= set(spec), f"{sweep} is not a W&B sweep file"
