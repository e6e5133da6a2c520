"""No silent wrong result (issue 14, item 4): a truncated file is an error or a counted skip in
``split`` as in ``check``; the size ``translate`` reports is the size it wrote; a manifest may not
point outside its folder unless told."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from videogen3d.cli import main
from videogen3d.data.video_io import probe_video
from videogen3d.data.video_pairs import VideoFolderSource, VideoPairsSource
from videogen3d.platform.corpus import encode, moving_frames, write_bad_corpus


@pytest.fixture
def truncated(tmp_path) -> Path:
    """250 frames of H.264, index first, cut at 60 %: the container opens and its start decodes."""
    full = encode(tmp_path / "full.mp4", moving_frames(250, (32, 32), seed=2), fps=25,
                  options={"movflags": "faststart"})
    data = full.read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    return cut


def test_split_refuses_a_truncated_file_as_check_does(truncated, tmp_path, capsys):
    assert main(["check", str(truncated)]) == 1
    out = tmp_path / "frames"
    assert main(["split", str(truncated), "--out", str(out)]) == 1
    assert "truncated.mp4" in capsys.readouterr().err
    assert not (out / "truncated").exists()  # no partial folder


def test_split_skips_and_counts_every_bad_file(truncated, tmp_path, capsys):
    bad = write_bad_corpus(tmp_path / "bad")
    good = encode(tmp_path / "good.mp4", moving_frames(8, (32, 32)), fps=8)
    out = tmp_path / "frames"
    files = [str(good), str(truncated), *map(str, bad.values())]
    assert main(["split", *files, "--out", str(out), "--on-bad-file", "skip"]) == 0
    err = capsys.readouterr().err
    assert f"1 video(s) split, {len(files) - 1} skipped" in err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good"]


def test_translate_reports_the_size_it_wrote(run_ckpt, tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, frame in enumerate(moving_frames(6, (273, 641))):
        Image.fromarray(frame).save(folder / f"{i:06d}.png")
    out = tmp_path / "out.mp4"
    assert main(["translate", str(run_ckpt), str(folder), "--out", str(out), "--size", "source"]) == 0
    report = json.loads(capsys.readouterr().out)
    written = probe_video(out)
    assert (report["height"], report["width"]) == (written["height"], written["width"]) == (274, 642)
    assert report["padded_from"] == [273, 641]  # and it says that H.264 needed even sides


@pytest.fixture
def manifest_dir(tmp_path) -> Path:
    inside = tmp_path / "project"
    for side in ("cond", "target"):
        encode(inside / side / "a.mp4", moving_frames(8, (32, 32)), fps=8)
    encode(tmp_path / "elsewhere" / "a.mp4", moving_frames(8, (32, 32)), fps=8)
    return inside


def _pairs_csv(path: Path, cond: str, target: str) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["cond", "target", "name"], [cond, target, "a"]])
    return path


OUTSIDE = ["../elsewhere/a.mp4", "{abs}", "cond/../../elsewhere/a.mp4"]


@pytest.mark.parametrize("cond", OUTSIDE)
def test_a_manifest_path_outside_its_folder_is_refused_unless_allowed(manifest_dir, cond):
    cond = cond.replace("{abs}", str(manifest_dir.parent / "elsewhere" / "a.mp4"))
    manifest = _pairs_csv(manifest_dir / "pairs.csv", cond, "target/a.mp4")
    with pytest.raises(ValueError, match=r"pairs\.csv' row 2: .*lies outside .*allow_outside=true"):
        VideoPairsSource(None, None, manifest).pairs()
    assert len(VideoPairsSource(None, None, manifest, allow_outside=True).pairs()) == 1
    ok = _pairs_csv(manifest_dir / "ok.csv", "cond/a.mp4", "target/a.mp4")
    assert len(VideoPairsSource(None, None, ok).pairs()) == 1


def test_a_labelled_manifest_path_outside_is_refused(manifest_dir):
    manifest = manifest_dir / "labelled.csv"
    manifest.write_text("path,label\n../elsewhere/a.mp4,x\n")
    with pytest.raises(ValueError, match="lies outside"):
        VideoFolderSource(manifest=manifest).classes()
    assert list(VideoFolderSource(manifest=manifest, allow_outside=True).classes()) == ["x"]
