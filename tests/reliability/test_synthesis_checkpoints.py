"""A synthesis checkpoint that is not what it claims (videogen3d.synthesis.checkpoints.safe_load).

A received or half-copied file gets one ``RefusedCheckpointError`` (a ``ValueError``) naming it: a pickle payload is
refused and runs nothing; an empty, cut-short or foreign file is called unreadable, not a traceback from inside
``torch.load``; weights that do not fit the module the file's own config builds are named too. ``synth.py`` prints
such a refusal, and a missing checkpoint, as one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from _payload import Payload
from videogen3d.synthesis.checkpoints import MODULE_CONFIG_KEY, RefusedCheckpointError, load_module, safe_load
from videogen3d.tasks.vae import ClipVAEModule

ROOT = Path(__file__).resolve().parents[2]


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
    torch.save({"state_dict": {}, "hyper_parameters": Payload(os.system, f"touch {marker}")}, path)
    with pytest.raises(ValueError, match=r"hostile.ckpt' holds objects other than tensors .* it asks for "
                                         r"(posix|os|nt)\.system"):
        safe_load(path, "vae checkpoint")
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["empty", "cut", "text"])
def test_an_unreadable_file_is_named_not_a_traceback(good, tmp_path, damage):
    path = tmp_path / f"{damage}.ckpt"
    data = good.read_bytes()
    path.write_bytes({"empty": b"", "cut": data[: len(data) // 2], "text": b"not a checkpoint\n"}[damage])
    with pytest.raises(RefusedCheckpointError, match=rf"vae checkpoint '.*{damage}.ckpt' is not a readable torch checkpoint"):
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
    from videogen3d.synthesis.readers import load_reader

    path = tmp_path / "check1.pt"
    path.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"reader check1 '.*check1.pt' is not a readable torch checkpoint"):
        load_reader("check1", path)


def _vae_node(widths: list[int]) -> dict:
    return {"_target_": "videogen3d.tasks.vae.ClipVAEModule", "clip_len": 4, "frame_size": [8, 8],
            "net": {"_target_": "videogen3d.models.clip_vae.ClipVAE", "clip_len": 4, "frame_size": [8, 8],
                    "latent_dim": 4, "widths": widths}}


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_refused_by_name(tmp_path):
    from hydra.utils import instantiate

    other = instantiate(_vae_node([8]))  # weights of another width than the config the file claims
    path = tmp_path / "vae.ckpt"
    torch.save({MODULE_CONFIG_KEY: _vae_node([4]), "state_dict": other.state_dict()}, path)
    with pytest.raises(RefusedCheckpointError, match=r"clip VAE checkpoint '.*vae.ckpt': its weights do not load into "
                                                     r"the module its config builds \(RuntimeError: .*\); train it "
                                                     r"again with: python synth.py stage=autoencoder"):
        load_module(path, "clip VAE", ClipVAEModule, "python synth.py stage=autoencoder")
    torch.save({MODULE_CONFIG_KEY: _vae_node([4])}, path)
    with pytest.raises(RefusedCheckpointError, match=r"its weights do not load .*KeyError"):
        load_module(path, "clip VAE", ClipVAEModule, "python synth.py stage=autoencoder")
    torch.save([1, 2, 3], path)  # a readable file that is no checkpoint at all
    with pytest.raises(RefusedCheckpointError, match=r"holds no module config"):
        load_module(path, "clip VAE", ClipVAEModule, "python synth.py stage=autoencoder")


@pytest.mark.parametrize("case", ["missing", "cut"])
def test_synth_py_names_a_missing_or_cut_checkpoint_in_one_line(good, tmp_path, case):
    """A later stage run before the one that makes its checkpoint, or on a damaged one: one line, rc 1."""
    work = tmp_path / "w"
    if case == "cut":
        (work / "checkpoints").mkdir(parents=True)
        (work / "checkpoints" / "classifier.ckpt").write_bytes(good.read_bytes()[:1000])
    done = subprocess.run([sys.executable, str(ROOT / "synth.py"), "stage=synthesis", "scale=tiny", f"work_dir={work}",
                           f"paths.data_dir={tmp_path}/data", f"hydra.run.dir={tmp_path}/h"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("synth.py: error: C3D (classifier) ") and "classifier.ckpt" in last
    assert {"missing": "checkpoint not found at", "cut": "is not a readable torch checkpoint (empty or cut short)"}[case] in last
    if case == "missing":
        assert "make it with: python synth.py stage=classifier scale=tiny" in last
