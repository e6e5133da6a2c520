"""build pairs / build labelled: manifests that dataset=video_pairs and dataset=video_folder read."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from videogen3d.utils.compose import compose_train
from videogen3d.cli import main
from videogen3d.data.video_io import read_video
from videogen3d.data.video_pairs import VideoPairsSource
from videogen3d.platform.build import build_labelled, build_pairs
from videogen3d.platform.corpus import encode, moving_frames
from videogen3d.platform.frames import split_video
from videogen3d.data.video_pairs import VideoFolderSource


def rows(manifest: Path) -> list[dict]:
    with open(manifest, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def pair_folders(tmp_path) -> tuple[Path, Path]:
    for i, (name, n_cond, n_target) in enumerate([("a", 12, 12), ("b", 14, 12), ("c", 10, 11)]):
        encode(tmp_path / "cond" / f"{name}.mp4", moving_frames(n_cond, seed=i), fps=10)
        encode(tmp_path / "target" / f"{name}.mp4", moving_frames(n_target, seed=10 + i), fps=10)
    return tmp_path / "cond", tmp_path / "target"


def test_build_pairs_of_videos_is_read_by_video_pairs(pair_folders, tmp_path, capsys):
    cond, target = pair_folders
    manifest = tmp_path / "pairs.csv"
    assert main(["build", "pairs", "--cond", str(cond), "--target", str(target), "--out", str(manifest)]) == 0
    assert "3 entries, 0 skipped" in capsys.readouterr().out
    table = rows(manifest)
    assert [r["name"] for r in table] == ["a", "b", "c"] and [r["frames"] for r in table] == ["12", "12", "10"]
    bank = VideoPairsSource(None, None, manifest=manifest, frame_size=32).load(None)
    assert bank.names == ["a", "b", "c"] and bank.offsets.tolist() == [0, 12, 24, 34]  # cut to the shorter


def test_manifest_through_the_hydra_config(pair_folders, tmp_path):
    cond, target = pair_folders
    manifest = tmp_path / "pairs.csv"  # beside the folders: its paths stay inside its folder
    build_pairs(cond, target, manifest, relative=True)
    assert not Path(rows(manifest)[0]["cond"]).is_absolute()
    overrides = ["dataset=video_pairs", "dataset.source.cond_dir=null", "dataset.source.target_dir=null",
                 f"dataset.source.manifest={manifest}", "dataset.frame_size=32", "dataset.clip_len=4",
                 "dataset.val_fraction=0.34", "dataset.test_fraction=0"]
    cfg = compose_train(overrides, tmp_path / "run", tmp_path / "data", tiny=False)
    GlobalHydra.instance().clear()
    dm = instantiate(cfg.dataset)
    dm.setup()
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())))
    assert batch["cond"].shape[1:] == (3, 4, 32, 32) and batch["target"].shape == batch["cond"].shape


def test_unequal_lengths_beyond_the_tolerance_name_both_files_and_counts(pair_folders, tmp_path, capsys):
    cond, target = pair_folders
    encode(cond / "d.mp4", moving_frames(20), fps=10)
    encode(target / "d.mp4", moving_frames(8), fps=10)
    with pytest.raises(ValueError, match=r"cond/d\.mp4' has 20 frames and .*target/d\.mp4' has 8.* tolerance 5"):
        build_pairs(cond, target, tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()
    report = build_pairs(cond, target, tmp_path / "p.csv", on_bad_file="skip")
    assert len(report.rows) == 3 and len(report.skipped) == 1
    assert build_pairs(cond, target, tmp_path / "q.csv", tolerance=12).rows[-1]["frames"] == 8


def test_names_that_do_not_pair_up_are_listed(pair_folders, tmp_path):
    cond, target = pair_folders
    encode(cond / "lonely.mp4", moving_frames(4), fps=10)
    with pytest.raises(ValueError, match=r"without a target: \['lonely'\]"):
        build_pairs(cond, target, tmp_path / "p.csv")


def test_build_pairs_of_frame_folders_encodes_them_once(tmp_path):
    for side, seed in (("cond", 0), ("target", 1)):
        for name, n in (("x", 9), ("y", 11)):
            video = encode(tmp_path / "src" / side / f"{name}.mp4", moving_frames(n, seed=seed), fps=6)
            split_video(video, tmp_path / side)
    split_video(encode(tmp_path / "src" / "z.mp4", moving_frames(12, seed=2), fps=6), tmp_path / "cond")
    (tmp_path / "cond" / "z").rename(tmp_path / "cond" / "y2")  # unpaired name: refused below
    with pytest.raises(ValueError, match=r"y2"):
        build_pairs(tmp_path / "cond", tmp_path / "target", tmp_path / "m.csv")
    shutil.rmtree(tmp_path / "cond" / "y2")
    report = build_pairs(tmp_path / "cond", tmp_path / "target", tmp_path / "m.csv")
    videos = [tmp_path / r["cond"] for r in report.rows]  # inside the manifest's folder: written relative
    assert [r["cond"] for r in report.rows] == ["m_videos/cond/x.mp4", "m_videos/cond/y.mp4"]
    assert [v.parent for v in videos] == [tmp_path / "m_videos" / "cond"] * 2
    frames, fps = read_video(videos[1])
    assert len(frames) == 11 and fps == pytest.approx(6)
    bank = VideoPairsSource(None, None, manifest=tmp_path / "m.csv", frame_size=32).load(None)
    assert bank.names == ["x", "y"] and bank.num_frames == 20


@pytest.fixture
def class_root(tmp_path) -> Path:
    for label, seeds in (("jump", (0, 1, 2)), ("walk", (3, 4, 5))):
        for s in seeds:
            encode(tmp_path / "classes" / label / f"v{s}.mp4", moving_frames(8, seed=s), fps=10)
    return tmp_path / "classes"


def test_build_labelled_is_read_by_video_folder(class_root, tmp_path):
    manifest = tmp_path / "labelled.csv"
    assert main(["build", "labelled", str(class_root), "--out", str(manifest)]) == 0
    table = rows(manifest)
    assert [r["label"] for r in table] == ["jump"] * 3 + ["walk"] * 3
    bank = VideoFolderSource(manifest=manifest, frame_size=32).load(None)
    assert bank.class_names == ["jump", "walk"] and bank.labels.tolist() == [0, 0, 0, 1, 1, 1]
    from_folders = VideoFolderSource(root=class_root, frame_size=32).load(None)
    assert from_folders.names == bank.names and np.array_equal(from_folders.target, bank.target)

    cfg = compose_train(["dataset=video_folder", f"dataset.source.manifest={manifest}", "dataset.frame_size=32",
                         "dataset.clip_len=4", "dataset.val_fraction=0.34", "dataset.test_fraction=0"],
                        tmp_path / "run", tmp_path / "data", tiny=False)
    GlobalHydra.instance().clear()
    dm = instantiate(cfg.dataset)
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())))
    assert set(batch) == {"target", "label"} and dm.num_classes == 2


def test_labelled_source_needs_root_or_manifest(tmp_path):
    with pytest.raises(ValueError, match="dataset.source.root .* or dataset.source.manifest"):
        VideoFolderSource()
    with pytest.raises(FileNotFoundError, match="build labelled"):
        VideoFolderSource(manifest=tmp_path / "none.csv").load(None)
