"""No input destroyed (issue 14, item 3): an output that is an input is always refused, an output that
exists is refused unless ``--overwrite``, a run folder holding a run is not reused, writes are atomic."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from videogen3d.cli import main
from videogen3d.platform.corpus import encode, moving_frames
from videogen3d.train import train
from videogen3d.utils.io import atomic_path


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    cond, target = tmp_path / "data" / "A", tmp_path / "data" / "B"
    for i, name in enumerate(("bikes", "cars")):
        encode(cond / f"{name}.mp4", moving_frames(8, (32, 32), seed=i), fps=8)
        encode(target / f"{name}.mp4", moving_frames(8, (32, 32), seed=10 + i), fps=8)
    return cond, target


def _same_bytes(path: Path, before: bytes) -> bool:
    return path.read_bytes() == before


# (command line with {A}, {B}, {ckpt}, {tmp} placeholders, the input it must leave intact)
INPUT_AS_OUTPUT = [
    (["translate", "{ckpt}", "{A}/bikes.mp4", "--out", "{A}/bikes.mp4"], "{A}/bikes.mp4"),
    (["translate", "{ckpt}", "{A}/bikes.mp4", "--out", "{tmp}/o.mp4", "--compare", "{A}/bikes.mp4"], "{A}/bikes.mp4"),
    (["translate", "{ckpt}", "{A}/bikes.mp4", "--out", "{ckpt}"], "{ckpt}"),
    (["build", "pairs", "--cond", "{A}", "--target", "{B}", "--out", "{A}/bikes.mp4"], "{A}/bikes.mp4"),
    (["build", "labelled", "{tmp}/data", "--out", "{A}/cars.mp4"], "{A}/cars.mp4"),
    (["evaluate", "{ckpt}", "--json", "{ckpt}"], "{ckpt}"),
]


@pytest.mark.parametrize("argv,kept", INPUT_AS_OUTPUT, ids=[" ".join(a[:1] + a[-2:]) for a, _ in INPUT_AS_OUTPUT])
@pytest.mark.parametrize("overwrite", [False, True])
def test_an_output_that_is_an_input_is_refused_even_with_overwrite(folders, run_ckpt, tmp_path, capsys, argv, kept,
                                                                   overwrite):
    cond, target = folders
    fill = {"{A}": str(cond), "{B}": str(target), "{ckpt}": str(run_ckpt), "{tmp}": str(tmp_path)}

    def sub(text: str) -> str:
        for k, v in fill.items():
            text = text.replace(k, v)
        return text

    kept_path = Path(sub(kept))
    before = kept_path.read_bytes()
    assert main([sub(a) for a in argv] + (["--overwrite"] if overwrite else [])) == 1
    assert "also an input" in capsys.readouterr().err
    assert _same_bytes(kept_path, before)


EXISTING_OUTPUTS = ["translate", "build", "split", "join"]


@pytest.mark.parametrize("command", EXISTING_OUTPUTS)
def test_an_existing_output_is_refused_unless_overwrite(folders, run_ckpt, tmp_path, capsys, command):
    cond, target = folders
    frames = tmp_path / "frames"
    if command in ("split", "join"):
        assert main(["split", str(cond / "bikes.mp4"), "--out", str(frames)]) == 0
        image = frames / "bikes" / "000000.png"
        kept = image.read_bytes()
        assert main(["join", str(frames / "bikes"), "--out", str(image), "--overwrite"]) == 1  # its own input
        assert image.read_bytes() == kept
    out = {"translate": tmp_path / "out.mp4", "build": tmp_path / "pairs.csv", "split": frames / "bikes",
           "join": tmp_path / "joined.mp4"}[command]
    argv = {"translate": ["translate", str(run_ckpt), str(cond / "bikes.mp4"), "--out", str(out)],
            "build": ["build", "pairs", "--cond", str(cond), "--target", str(target), "--out", str(out)],
            "split": ["split", str(cond / "bikes.mp4"), "--out", str(frames)],
            "join": ["join", str(frames / "bikes"), "--out", str(out)]}[command]
    if command != "split":
        out.write_bytes(b"precious")
    before = sorted(out.iterdir()) if out.is_dir() else out.read_bytes()
    capsys.readouterr()
    assert main(argv) == 1 and "already exists" in capsys.readouterr().err
    assert (sorted(out.iterdir()) if out.is_dir() else out.read_bytes()) == before
    assert main(argv + ["--overwrite"]) == 0
    assert out.is_dir() or out.read_bytes() != b"precious"


def test_a_second_run_in_the_same_run_folder_is_refused(train_cfg, tmp_path):
    quick = ["trainer.fast_dev_run=false", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
             "baselines=false", "callbacks.sample_media=null"]
    first = train(train_cfg(*quick, name="same"))
    rows = Path(first["metrics_csv"]).read_text()
    with pytest.raises(ValueError, match=r"already holds a run .*csv/metrics.csv.*ckpt_path="):
        train(train_cfg(*quick, name="same"))
    assert Path(first["metrics_csv"]).read_text() == rows  # not mixed
    resumed = train(train_cfg(*quick, "trainer.max_epochs=2", f"ckpt_path={first['last_checkpoint']}", name="same"))
    assert resumed["epochs"] == 2  # resuming that folder's own run is allowed


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]
    with open(target, newline="") as f:
        assert list(csv.reader(f)) == [["old"]]


def test_the_hydra_run_dir_guard_stops_before_hydra_writes(tmp_path):
    """Hydra saves .hydra/ before the task runs; the guard (a Hydra callback) runs before that."""
    from omegaconf import OmegaConf

    from videogen3d.utils.run_dir import RunDirGuard

    run = tmp_path / "run"
    cfg = OmegaConf.create({"hydra": {"run": {"dir": str(run)}}, "ckpt_path": None})
    RunDirGuard().on_run_start(cfg)  # an empty folder is fine
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("seed: 1\n")
    with pytest.raises(SystemExit, match=r"already holds a run \(\.hydra/config\.yaml\)"):
        RunDirGuard().on_run_start(cfg)
    cfg.ckpt_path = str(run / "checkpoints" / "last.ckpt")
    RunDirGuard().on_run_start(cfg)  # resuming that folder's run
    synth = OmegaConf.create({"hydra": {"run": {"dir": str(run)}}})  # synth.py: no ckpt_path, no resume to offer
    with pytest.raises(SystemExit, match=r"^synth\.py: error: .*already holds a run.*leave hydra\.run\.dir out"):
        RunDirGuard().on_run_start(synth)
