"""A real SIGTERM sent to ``python train.py`` (what a cluster scheduler sends): the run saves
``last.ckpt`` mid-epoch and exits non-zero; ``ckpt_path=last`` finds it and the run finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import torch

from videogen3d.utils.compose import REPO

ARGS = ["dataset.source.num_sequences=6", "dataset.source.num_frames=16", "dataset.frame_size=32",
        "dataset.clip_len=4", "dataset.batch_size=2", "dataset.train_clips_per_epoch=400", "generator.ngf=4",
        "trainer.max_epochs=1", "trainer.accelerator=cpu", "trainer.limit_val_batches=1", "baselines=false",
        "callbacks.progress_bar=null", "callbacks.sample_media=null", "logger=csv"]


PACE = ["+callbacks.pace._target_=_signals.PaceAfterBatch", "+callbacks.pace.batches=5", "+callbacks.pace.seconds=0.05"]


def _train(tmp_path: Path, *extra: str) -> subprocess.Popen:
    # tests/reliability on the path: the child imports the test-only pacing callback (_signals.PaceAfterBatch)
    path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    cmd = [sys.executable, str(REPO / "train.py"), *ARGS, f"paths.log_dir={tmp_path / 'logs'}",
           f"paths.data_dir={tmp_path / 'data'}", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_sigterm_saves_a_mid_epoch_checkpoint_exits_nonzero_and_resumes(tmp_path):
    # after 5 batches the run prints a marker and then takes >= 0.05 s per batch (>= 9.75 s for the other 195), so the
    # signal sent on the marker lands mid-epoch on a machine of any speed (a fixed sleep raced a fast machine's epoch)
    proc = _train(tmp_path, *PACE, "hydra.run.dir=" + str(tmp_path / "logs" / "train" / "runs" / "first"))
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "PACE: batches done" in line:  # 5 batches trained
                started.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert started.wait(120), "".join(lines[-30:])
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
    finally:
        proc.kill()
    assert rc == 128 + signal.SIGTERM, "".join(lines[-30:])
    last = tmp_path / "logs" / "train" / "runs" / "first" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    assert 5 <= state["global_step"] < 200 and state["epoch"] == 0  # mid-epoch, nothing lost

    resumed = _train(tmp_path, "ckpt_path=last", "hydra.run.dir=" + str(tmp_path / "logs" / "train" / "runs" / "second"))
    out, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, out[-3000:]
    final = torch.load(tmp_path / "logs" / "train" / "runs" / "second" / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == 200 and final["epoch"] == 0
