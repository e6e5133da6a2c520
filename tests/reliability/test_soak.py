"""Load and soak (issue 14, item 6): clip readers opened and closed 1000 times over real small videos
and the bad-file corpus keep memory flat and never hang; a multirun with a failing job finishes the
others and reports the failure."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from videogen3d.data.video_io import VideoReadError, probe_video, read_video
from videogen3d.platform.corpus import encode, encode_vfr, moving_frames, write_bad_corpus
from videogen3d.utils.compose import REPO


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:  # resident pages
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.timeout(240)
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_1000_readers_over_good_and_bad_files_keep_memory_flat(tmp_path):
    bad = write_bad_corpus(tmp_path / "bad")
    good = [encode(tmp_path / "a.mp4", moving_frames(12, (32, 32)), fps=10),
            encode(tmp_path / "b.mp4", moving_frames(9, (48, 64), seed=1), fps=24, codec="mpeg4"),
            encode_vfr(tmp_path / "c.mp4", moving_frames(10, (32, 32), seed=2), [30, 50])]
    files = [*good, *bad.values()]
    outcomes = {"read": 0, "refused": 0}

    def one(i: int) -> None:
        path = files[i % len(files)]
        try:
            frames, _ = read_video(path, size=(16, 16), max_frames=4) if i % 2 else (None, probe_video(path))
            outcomes["read"] += 1
        except VideoReadError as exc:
            assert str(path) in str(exc)  # every refusal names the file
            outcomes["refused"] += 1

    for i in range(100):  # warm-up: decoder libraries, caches, allocator pools
        one(i)
    gc.collect()
    before = _rss_mb()
    for i in range(100, 1000):
        one(i)
    gc.collect()
    growth = _rss_mb() - before
    assert outcomes["read"] + outcomes["refused"] == 1000
    assert outcomes["refused"] == sum(1 for i in range(1000) if files[i % len(files)] in bad.values())
    assert growth < 40, f"RSS grew by {growth:.1f} MB over 900 readers"


@pytest.mark.slow
def test_a_multirun_with_a_failing_job_finishes_the_others_and_reports_it(tmp_path):
    args = ["-m", "seed=abc,1", "dataset.source.num_sequences=6", "dataset.source.num_frames=16",
            "dataset.frame_size=32", "dataset.clip_len=4", "dataset.batch_size=2", "generator.ngf=4",
            "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
            "baselines=false", "callbacks.progress_bar=null", "callbacks.model_summary=null",
            "callbacks.sample_media=null", f"paths.log_dir={tmp_path}", f"paths.data_dir={tmp_path / 'data'}",
            "hydra.sweep.dir=" + str(tmp_path / "sweep"), "hydra.sweep.subdir=${hydra.job.num}"]
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *args], capture_output=True, text=True,
                          timeout=540)
    assert proc.returncode != 0  # the sweep reports that a job failed ...
    assert "seed='abc'" in proc.stderr
    assert (tmp_path / "sweep" / "1" / "checkpoints" / "last.ckpt").is_file()  # ... after the others ran
    assert not (tmp_path / "sweep" / "0" / "checkpoints").exists()
