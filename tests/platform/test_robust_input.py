"""The bad-file corpus: a clear per-file error or a counted skip, never a hang, never a crashed run."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from videogen3d.utils.compose import compose_train
from hydra.core.global_hydra import GlobalHydra
from videogen3d.cli import main
from videogen3d.data.video_io import VideoReadError, read_video
from videogen3d.data.video_pairs import VideoPairsSource
from videogen3d.platform.build import build_labelled, build_pairs
from videogen3d.platform.corpus import encode, moving_frames, write_bad_corpus
from videogen3d.platform.frames import split_video
from videogen3d.train import train

REASONS = {"empty": "empty", "text": "not a decodable video", "truncated": "decodable",
           "audio_only": "no video stream"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return write_bad_corpus(tmp_path_factory.mktemp("bad"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(REASONS))
def test_each_bad_file_raises_naming_it(corpus, kind, tmp_path):
    path = corpus[kind]
    with pytest.raises(VideoReadError, match=REASONS[kind]) as info:
        read_video(path)
    assert info.value.path == str(path) and path.name in str(info.value)
    with pytest.raises(VideoReadError) as info:
        split_video(path, tmp_path / "frames")
    assert info.value.path == str(path)
    assert not (tmp_path / "frames").exists() or not any((tmp_path / "frames").iterdir())  # nothing half-written


@pytest.mark.timeout(60)
def test_check_lists_every_bad_file_with_its_reason(corpus, tmp_path, capsys):
    good = encode(tmp_path / "good.mp4", moving_frames(5), fps=10)
    assert main(["check", str(good), *map(str, corpus.values()), str(tmp_path / "missing.mp4")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok   ") and "5 frames" in out[0]
    for line, path in zip(out[1:], [*corpus.values(), tmp_path / "missing.mp4"]):
        assert line.startswith(f"BAD  {path}: ")
    assert "no such file" in out[-1]


@pytest.mark.timeout(60)
def test_bad_files_in_pairs_stop_the_build_naming_them_or_are_skipped_and_counted(corpus, tmp_path, capsys):
    for name, n in (("ok1", 8), ("ok2", 8), *((k, 8) for k in corpus)):
        encode(tmp_path / "target" / f"{name}.mp4", moving_frames(n), fps=10)
        if name.startswith("ok"):
            encode(tmp_path / "cond" / f"{name}.mp4", moving_frames(n, seed=1), fps=10)
    for kind, path in corpus.items():
        (tmp_path / "cond" / path.name).write_bytes(path.read_bytes())
    with pytest.raises(VideoReadError, match="audio_only.mp4"):
        build_pairs(tmp_path / "cond", tmp_path / "target", tmp_path / "p.csv")
    code = main(["build", "pairs", "--cond", str(tmp_path / "cond"), "--target", str(tmp_path / "target"),
                 "--out", str(tmp_path / "p.csv"), "--on-bad-file", "skip"])
    out, err = capsys.readouterr()
    assert code == 0 and "2 entries, 4 skipped" in out
    assert all(path.name in err for path in corpus.values())
    assert main(["build", "pairs", "--cond", str(tmp_path / "cond"), "--target", str(tmp_path / "target"),
                 "--out", str(tmp_path / "q.csv")]) == 1
    assert "cannot read video" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_labelled_build_and_split_skip_bad_files(corpus, tmp_path, capsys):
    encode(tmp_path / "root" / "a" / "good.mp4", moving_frames(6), fps=10)
    for path in corpus.values():
        (tmp_path / "root" / "b").mkdir(parents=True, exist_ok=True)
        (tmp_path / "root" / "b" / path.name).write_bytes(path.read_bytes())
    encode(tmp_path / "root" / "b" / "fine.mp4", moving_frames(6), fps=10)
    report = build_labelled(tmp_path / "root", tmp_path / "l.csv", on_bad_file="skip")
    assert len(report.rows) == 2 and len(report.skipped) == 4
    videos = [str(p) for p in corpus.values()] + [str(tmp_path / "root" / "a" / "good.mp4")]
    assert main(["split", *videos, "--out", str(tmp_path / "f"), "--on-bad-file", "skip"]) == 0
    assert "1 video(s) split, 4 skipped" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_translate_of_a_bad_input_fails_naming_it(corpus, tmp_path, capsys):
    ckpt = tmp_path / "run" / "checkpoints" / "x.ckpt"  # the input is read after the checkpoint: no need here
    assert main(["translate", str(ckpt), str(corpus["text"]), "--out", str(tmp_path / "o.mp4")]) == 1
    assert "x.ckpt" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_a_training_run_skips_and_counts_bad_files(corpus, tmp_path, caplog):
    for i in range(4):
        encode(tmp_path / "cond" / f"v{i}.mp4", moving_frames(12, seed=i), fps=10)
        encode(tmp_path / "target" / f"v{i}.mp4", moving_frames(12, seed=10 + i), fps=10)
    (tmp_path / "cond" / "broken.mp4").write_bytes(corpus["truncated"].read_bytes())
    (tmp_path / "target" / "broken.mp4").write_bytes(corpus["text"].read_bytes())
    (tmp_path / "cond" / "silent.mp4").write_bytes(corpus["audio_only"].read_bytes())
    encode(tmp_path / "target" / "silent.mp4", moving_frames(12), fps=10)
    overrides = ["dataset=video_pairs", f"dataset.source.cond_dir={tmp_path / 'cond'}",
                 f"dataset.source.target_dir={tmp_path / 'target'}", "dataset.source.on_bad_file=skip",
                 "dataset.frame_size=32", "dataset.clip_len=4", "dataset.batch_size=2", "dataset.val_fraction=0.25",
                 "dataset.test_fraction=0", "generator=unet4", "generator.ngf=4", "trainer.fast_dev_run=true",
                 "trainer.accelerator=cpu", "baselines=false", "callbacks.model_summary=null",
                 "callbacks.progress_bar=null", "logger=csv"]
    cfg = compose_train(overrides, tmp_path / "run", tmp_path / "data", tiny=False)
    try:
        with caplog.at_level(logging.WARNING):
            results = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert math.isfinite(results["train/loss"])
    assert "skipped 3 unreadable file(s)" in caplog.text
    source = VideoPairsSource(tmp_path / "cond", tmp_path / "target", frame_size=32, on_bad_file="skip")
    assert source.load(tmp_path / "data").names == ["v0", "v1", "v2", "v3"]  # the run's cache, read back
    assert {Path(p).stem for p in source.skipped} == {"broken", "silent"}
