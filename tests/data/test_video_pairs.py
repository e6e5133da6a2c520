"""Real paired videos: pairing by stem, decoding, length reconciliation, bad files, caching."""

import logging

import numpy as np
import pytest
import torch

from videogen3d.data.video_io import VideoReadError
from videogen3d.data.video_pairs import VideoFolderSource, VideoPairsSource


@pytest.fixture
def pair_dirs(tmp_path, make_video):
    written = {}
    for i, stem in enumerate(["alpha", "beta", "gamma"]):
        _, cond = make_video(f"cond/{stem}.mp4", n=10 + i, seed=i)
        _, target = make_video(f"target/{stem}.mp4", n=10 + i, seed=10 + i)
        written[stem] = (cond, target)
    return tmp_path / "cond", tmp_path / "target", written


def source(cond, target, **kw):
    return VideoPairsSource(cond, target, frame_size=32, **kw)


def test_pairs_by_stem_and_decodes_close_to_what_was_written(pair_dirs, tmp_path):
    cond, target, written = pair_dirs
    bank = source(cond, target).load(tmp_path / "cache")
    assert bank.names == ["alpha", "beta", "gamma"] and bank.offsets.tolist() == [0, 10, 21, 33]
    assert bank.target.shape == (33, 32, 32, 3) and bank.cond.shape == bank.target.shape
    assert bank.fps == pytest.approx(10.0)
    assert np.abs(bank.cond[10:21].numpy().astype(int) - written["beta"][0]).mean() < 4
    assert np.abs(bank.target[21:].numpy().astype(int) - written["gamma"][1]).mean() < 4


def test_resizes_to_frame_size(pair_dirs):
    cond, target, _ = pair_dirs
    bank = VideoPairsSource(cond, target, frame_size=(16, 24)).load(None)
    assert bank.frame_size == (16, 24)


def test_missing_and_empty_folders_are_named(tmp_path, make_video):
    make_video("target/a.mp4")
    with pytest.raises(FileNotFoundError, match=r"cond_dir .*nope.* \.mp4"):
        source(tmp_path / "nope", tmp_path / "target").load(None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no videos here")
    with pytest.raises(FileNotFoundError, match=r"cond_dir .*empty.* no video files .*\.mp4, \.avi"):
        source(tmp_path / "empty", tmp_path / "target").load(None)


def test_unpaired_stems_are_listed_on_each_side(tmp_path, make_video):
    for rel in ["c/shared.mp4", "c/only_cond.mp4", "t/shared.mp4", "t/only_target.mp4", "t/also_target.avi"]:
        make_video(rel, n=4)
    with pytest.raises(ValueError, match="only_cond") as info:
        source(tmp_path / "c", tmp_path / "t").load(None)
    assert "'also_target', 'only_target'" in str(info.value)


def test_bad_file_raises_naming_it_or_is_skipped_and_counted(pair_dirs, tmp_path, caplog):
    cond, target, _ = pair_dirs
    (cond / "delta.mp4").write_text("I am text, not H.264")
    (target / "delta.mp4").write_bytes((target / "alpha.mp4").read_bytes())
    with pytest.raises(VideoReadError, match="delta.mp4"):
        source(cond, target).load(None)
    src = source(cond, target, on_bad_file="skip")
    with caplog.at_level(logging.WARNING):
        bank = src.load(tmp_path / "cache")
    assert bank.names == ["alpha", "beta", "gamma"] and src.skipped == [str(cond / "delta.mp4")]
    assert "skipped 1 unreadable file" in caplog.text
    again = source(cond, target, on_bad_file="skip")
    again.load(tmp_path / "cache")  # from the cache: the skipped pair is still reported
    assert str(cond / "delta.mp4") in again.skipped


def test_length_mismatch_is_cut_with_a_warning_or_refused(tmp_path, make_video, caplog):
    make_video("c/a.mp4", n=12)
    make_video("t/a.mp4", n=10)
    with caplog.at_level(logging.WARNING):
        bank = source(tmp_path / "c", tmp_path / "t").load(None)
    assert bank.num_frames == 10 and "pair 'a'" in caplog.text
    with pytest.raises(ValueError, match=r"pair 'a'.*max_length_mismatch=1"):
        source(tmp_path / "c", tmp_path / "t", max_length_mismatch=1).load(None)


def test_manifest_pairs_other_names(tmp_path, make_video):
    make_video("c/x1.mp4", n=6)
    make_video("t/y1.mp4", n=6)
    (tmp_path / "pairs.csv").write_text("cond,target,name\nx1.mp4,y1.mp4,first\n")
    bank = VideoPairsSource(tmp_path / "c", tmp_path / "t", manifest=tmp_path / "pairs.csv", frame_size=32).load(None)
    assert bank.names == ["first"] and bank.num_frames == 6
    (tmp_path / "bad.csv").write_text("cond,target\nx1.mp4,missing.mp4\n")
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        VideoPairsSource(tmp_path / "c", tmp_path / "t", manifest=tmp_path / "bad.csv").load(None)


def test_cache_reused_and_invalidated_by_a_changed_file(pair_dirs, tmp_path, monkeypatch):
    cond, target, _ = pair_dirs
    cache = tmp_path / "cache"
    src = source(cond, target)
    bank = src.load(cache)
    path = src.cache_path(cache)
    assert path.is_file()
    monkeypatch.setattr(VideoPairsSource, "_build", lambda self: pytest.fail("decoded again"))
    assert torch.equal(source(cond, target).load(cache).target, bank.target)
    monkeypatch.undo()
    (target / "alpha.mp4").write_bytes((target / "beta.mp4").read_bytes())  # a changed file: a new key
    assert source(cond, target).cache_path(cache) != path


def test_video_folder_source_labels_by_sub_folder(tmp_path, make_video):
    for rel in ["walk/a.mp4", "walk/b.mp4", "jump/c.mp4"]:
        make_video(f"classes/{rel}", n=5)
    src = VideoFolderSource(tmp_path / "classes", frame_size=32)
    bank = src.load(None)
    assert bank.class_names == ["jump", "walk"] and src.class_names == ["jump", "walk"]
    assert bank.labels.tolist() == [0, 1, 1] and bank.names == ["jump/c", "walk/a", "walk/b"] and bank.cond is None
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        VideoFolderSource(tmp_path / "classes" / "walk").load(None)
