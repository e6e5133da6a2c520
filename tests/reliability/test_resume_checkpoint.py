"""A resume checkpoint (``ckpt_path``) that is missing or unreadable is refused by ``train.py`` before any work,
in one line naming the file (``videogen3d.utils.config.check_ckpt_file``), not a traceback from Lightning later."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from _payload import Payload
from videogen3d.train import train
from videogen3d.utils.config import ConfigError, check_ckpt_file

ROOT = Path(__file__).resolve().parents[2]


def _make(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.ckpt"
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.arange(20000.0)}, "epoch": 1}, good)
    if case == "folder":
        path.mkdir()
    elif case == "list":
        torch.save([1, 2, 3], path)
    elif case == "payload":
        torch.save({"state_dict": {}, "hyper_parameters": Payload(os.system, f"touch {tmp_path / 'pwned'}")}, path)
    elif case == "exec_payload":  # a payload through a global torch does not block outright
        torch.save({"state_dict": {}, "hyper_parameters": Payload(exec, f"open({str(tmp_path / 'pwned')!r}, 'w')")}, path)
    elif case != "missing":
        data = good.read_bytes()
        path.write_bytes({"empty": b"", "cut": data[: len(data) // 2], "text": b"not a checkpoint\n"}[case])
    return path


REFUSALS = {
    "missing": r"ckpt_path='.*missing.ckpt': no such file",
    "folder": r"ckpt_path='.*folder.ckpt': a folder, not a checkpoint file",
    "empty": r"ckpt_path: the checkpoint '.*empty.ckpt' is not a readable torch checkpoint \(empty or cut short\)",
    "cut": r"ckpt_path: the checkpoint '.*cut.ckpt' is not a readable torch checkpoint \(empty or cut short\)",
    "text": r"ckpt_path: the checkpoint '.*text.ckpt' is not a readable torch checkpoint \(another kind of file",
    "payload": r"ckpt_path: the checkpoint '.*payload.ckpt' holds objects other than tensors .* it asks for "
               r"(posix|os|nt)\.system; to load it anyway, pass --trust-checkpoint \(CLI\) or trust_checkpoint=true",
    "list": r"ckpt_path: the checkpoint '.*list.ckpt' holds a list, not a checkpoint dict",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_train_refuses_a_bad_resume_checkpoint_before_any_work(train_cfg, tmp_path, case):
    path = _make(tmp_path, case)
    cfg = train_cfg(f"ckpt_path={path}", "trainer.max_epochs=1")
    with pytest.raises(ConfigError, match=REFUSALS[case]):
        train(cfg)
    assert not (tmp_path / "pwned").exists()  # the payload never ran
    assert not list((tmp_path / "run").rglob("*.ckpt")) and not list((tmp_path / "run").rglob("metrics.csv"))


def test_a_trusted_checkpoint_is_checked_with_its_objects_inert_and_left_to_lightning(tmp_path):
    path = _make(tmp_path, "exec_payload")
    check_ckpt_file(OmegaConf.create({"ckpt_path": str(path), "trust_checkpoint": True}))
    assert not (tmp_path / "pwned").exists()  # read here with the payload inert: it never ran
    path = _make(tmp_path, "payload")  # os.system: a module that runs commands is refused even when trusted
    with pytest.raises(ConfigError, match=r"asks for (posix|nt|os)\.system, from module .* refused even when trusted"):
        check_ckpt_file(OmegaConf.create({"ckpt_path": str(path), "trust_checkpoint": True}))
    assert not (tmp_path / "pwned").exists()
    cut = _make(tmp_path, "cut")  # trusted or not, a cut file is named before any work
    with pytest.raises(ConfigError, match=f"ckpt_path: the checkpoint {str(cut)!r} is not a readable torch checkpoint"):
        check_ckpt_file(OmegaConf.create({"ckpt_path": str(cut), "trust_checkpoint": True}))
    check_ckpt_file(OmegaConf.create({"ckpt_path": str(_make(tmp_path, "cut").parent / "good.ckpt")}))  # a good one


def test_train_py_names_a_cut_resume_checkpoint_in_one_line(tmp_path):
    path = _make(tmp_path, "cut")
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), f"ckpt_path={path}", f"hydra.run.dir={tmp_path}/h",
                           f"paths.data_dir={tmp_path}/data"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"train.py: error: ckpt_path: the checkpoint {str(path)!r} "
                                                           f"is not a readable torch checkpoint (empty or cut short)")
    assert not (tmp_path / "data").exists()  # refused before any data was rendered
