"""A synthesis checkpoint that is not what it claims (videogen3d.synthesis.checkpoints.safe_load).

A received or half-copied file gets one ``ValueError`` naming it: a pickle payload is refused and runs nothing;
an empty, cut-short or foreign file is called unreadable, not a traceback from inside ``torch.load``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from videogen3d.synthesis.checkpoints import safe_load


class _Payload:
    """Unpickling this runs ``os.system(cmd)``: what a hostile checkpoint carries."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd,)


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.arange(20000.0)}, "epoch": 3}, path)
    return path


def test_a_good_checkpoint_loads(good):
    state = safe_load(good, "vae checkpoint")
    assert state["epoch"] == 3 and torch.equal(state["state_dict"]["w"], torch.arange(20000.0))


def test_a_pickle_payload_is_refused_naming_what_it_asks_for_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": _Payload(f"touch {marker}")}, path)
    with pytest.raises(ValueError, match=r"hostile.ckpt' holds objects other than tensors .* it asks for "
                                         r"(posix|os|nt)\.system"):
        safe_load(path, "vae checkpoint")
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["empty", "cut", "text"])
def test_an_unreadable_file_is_named_not_a_traceback(good, tmp_path, damage):
    path = tmp_path / f"{damage}.ckpt"
    data = good.read_bytes()
    path.write_bytes({"empty": b"", "cut": data[: len(data) // 2], "text": b"not a checkpoint\n"}[damage])
    with pytest.raises(ValueError, match=rf"vae checkpoint '.*{damage}.ckpt' is not a readable torch checkpoint"):
        safe_load(path, "vae checkpoint")


def test_a_cut_checkpoint_on_the_command_line_is_one_line(good, tmp_path):
    path = tmp_path / "vae.ckpt"
    path.write_bytes(good.read_bytes()[:1000])
    done = subprocess.run([sys.executable, "-m", "videogen3d.synthesis.reconstruction", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{str(path)!r} is not a readable torch checkpoint (empty or cut short)" in lines[0]


def test_a_cut_reader_file_is_named(good, tmp_path):
    from videogen3d.synthesis.readers import _load

    path = tmp_path / "check1.pt"
    path.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"reader check1 '.*check1.pt' is not a readable torch checkpoint"):
        _load("check1", path)
