"""No code runs from a received file (issue 14, item 1; issue 10, item 4).

A checkpoint is unpickled with ``weights_only=True``: a pickle payload is refused, naming the file and
the opt-in, and runs nothing. A run config may build only allow-listed ``_target_``s. Overrides on a
run's config are composed by Hydra, so an option that inherits (``disc=conv5``) gets its whole node.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from _payload import Payload
from videogen3d.cli import main
from videogen3d.platform.checkpoint import load_generator, load_run_config
from videogen3d.platform.corpus import encode, moving_frames
from videogen3d.utils.compose import compose_train


def _payloads(marker: Path) -> dict[str, object]:
    return {
        "os.system": Payload(os.system, f"touch {marker}"),
        "builtins.exec": Payload(exec, f"open({str(marker)!r}, 'w').write('pwned')"),
        "subprocess.call": Payload(subprocess.call, ["touch", str(marker)]),
    }


# hostile checkpoints: (payload, where in the checkpoint dict it hides)
BAD_CHECKPOINTS = [(p, where) for p in ("os.system", "builtins.exec", "subprocess.call")
                   for where in ("top", "hyper_parameters")]
# run configs that would build something outside the allow-list: (key, _target_)
BAD_TARGETS = [
    ("generator", "torch.load"),
    ("generator", "os.system"),
    ("dataset.source", "builtins.eval"),
    ("dataset", "subprocess.run"),
    ("callbacks.model_checkpoint", "pickle.loads"),
    ("logger.csv", "importlib.import_module"),
    ("generator", "torch.nn.${oc.env:HOME}"),
]


def _hostile(run_ckpt: Path, payload: str, where: str, marker: Path) -> Path:
    state = torch.load(run_ckpt, weights_only=True)
    obj = _payloads(marker)[payload]
    if where == "top":
        state["callbacks"] = {"x": obj}
    else:
        state["hyper_parameters"] = {"noise_channels": 0, "extra": obj}
    torch.save(state, run_ckpt)
    return run_ckpt


@pytest.mark.parametrize("command", ["translate", "evaluate"])
@pytest.mark.parametrize("payload,where", BAD_CHECKPOINTS, ids=[f"{p}-{w}" for p, w in BAD_CHECKPOINTS])
def test_a_pickle_payload_in_a_checkpoint_is_refused_and_runs_nothing(run_ckpt, tmp_path, capsys, command,
                                                                      payload, where):
    marker = tmp_path / "pwned"
    ckpt = _hostile(run_ckpt, payload, where, marker)
    video = encode(tmp_path / "in.mp4", moving_frames(6, (32, 32)), fps=8)
    argv = {"translate": ["translate", str(ckpt), str(video), "--out", str(tmp_path / "out.mp4")],
            "evaluate": ["evaluate", str(ckpt), "--json", str(tmp_path / "e.json")]}[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert str(ckpt) in err and "--trust-checkpoint" in err and "refused" in err
    assert not marker.exists(), "the payload ran"
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "e.json").exists()


def test_trust_checkpoint_is_the_explicit_opt_in(run_ckpt, tmp_path, capsys):
    """A checkpoint holding a harmless non-tensor object: refused by default, loaded with the flag."""
    state = torch.load(run_ckpt, weights_only=True)
    state["hyper_parameters"] = {"args": argparse.Namespace(lr=1e-3)}
    torch.save(state, run_ckpt)
    video = encode(tmp_path / "in.mp4", moving_frames(6, (32, 32)), fps=8)
    out = tmp_path / "out.mp4"
    assert main(["translate", str(run_ckpt), str(video), "--out", str(out)]) == 1
    assert "--trust-checkpoint" in capsys.readouterr().err and not out.exists()
    assert main(["translate", str(run_ckpt), str(video), "--out", str(out), "--trust-checkpoint"]) == 0
    assert out.is_file()


@pytest.mark.parametrize("payload,where", BAD_CHECKPOINTS, ids=[f"{p}-{w}" for p, w in BAD_CHECKPOINTS])
def test_trust_checkpoint_reads_the_weights_and_still_runs_no_payload(run_ckpt, tmp_path, payload, where):
    """``--trust-checkpoint`` reads a file the default refuses, but every object other than tensors stays an inert
    placeholder: the payload does not run, and the weights are the file's. A file that asks for a module torch's
    weights_only loader blocks outright (os / posix / nt / sys) is refused even when trusted, naming what it asks for."""
    from videogen3d.utils.io import Inert, load_tensors_inert

    marker = tmp_path / "pwned"
    weights = torch.load(run_ckpt, weights_only=True)["state_dict"]
    ckpt = _hostile(run_ckpt, payload, where, marker)
    video = encode(tmp_path / "in.mp4", moving_frames(6, (32, 32)), fps=8)
    out = tmp_path / "out.mp4"
    if payload == "os.system":
        with pytest.raises(ValueError, match=r"asks for (posix|nt|os)\.system, from module .* refused even when trusted"):
            load_tensors_inert(ckpt, "checkpoint")
        assert main(["translate", str(ckpt), str(video), "--out", str(out), "--trust-checkpoint"]) == 1
        assert not marker.exists() and not out.exists()
        return
    state = load_tensors_inert(ckpt, "checkpoint")
    assert not marker.exists(), "the payload ran"
    assert state["state_dict"].keys() == weights.keys()
    assert all(torch.equal(state["state_dict"][k], v) for k, v in weights.items())
    hidden = state["callbacks"]["x"] if where == "top" else state["hyper_parameters"]["extra"]
    assert isinstance(hidden, Inert) and hidden.names.endswith("." + payload.split(".")[1])
    assert main(["translate", str(ckpt), str(video), "--out", str(out), "--trust-checkpoint"]) == 0
    assert out.is_file() and not marker.exists()


class _Hparams(dict):  # a dict subclass: torch's weights_only unpickler fills only plain dicts
    pass


def test_an_unreadable_file_is_named_by_the_inert_loader(tmp_path):
    from videogen3d.utils.io import load_tensors_inert

    odd = tmp_path / "odd.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": _Hparams(lr=1)}, odd)
    with pytest.raises(ValueError, match=f"checkpoint {str(odd)!r} holds an object that cannot be read with its "
                                         r"objects inert: Can only SETITEMS? for dict"):
        load_tensors_inert(odd, "checkpoint")

    bad = tmp_path / "cut.ckpt"
    torch.save({"w": torch.ones(100)}, bad)
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(ValueError, match=f"checkpoint {str(bad)!r} is not a readable torch checkpoint"):
        load_tensors_inert(bad, "checkpoint")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tensors_inert(tmp_path / "none.ckpt", "checkpoint")


@pytest.mark.parametrize("key,target", BAD_TARGETS, ids=[f"{k}={t}" for k, t in BAD_TARGETS])
def test_a_run_config_may_build_only_allow_listed_targets(run_ckpt, tmp_path, capsys, key, target):
    path = run_ckpt.parent.parent / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(path)
    OmegaConf.update(cfg, f"{key}._target_", target, force_add=True)
    OmegaConf.save(cfg, path)
    with pytest.raises(ValueError, match=rf"{key}\._target_=.*not allowed"):
        load_generator(run_ckpt)
    assert main(["evaluate", str(run_ckpt), "--json", str(tmp_path / "e.json")]) == 1
    assert f"{key}._target_" in capsys.readouterr().err


def test_evaluate_override_gets_the_inheriting_options_whole_node(run_ckpt, tmp_path, shared_data_dir):
    """``conv5.yaml`` is ``defaults: [conv]`` plus two keys: the override must carry conv's keys too,
    exactly as ``python train.py <the run's overrides> disc=conv5`` composes it."""
    cfg = load_run_config(run_ckpt, overrides=["disc=conv5"])
    assert cfg.disc._target_ == "videogen3d.models.discriminators.ConvDiscriminator"
    assert cfg.disc.n_layers == 5 and cfg.disc.cond_entry == "direct" and cfg.disc.ndf == 64
    expected = compose_train(["generator=unet4", "generator.ngf=4", "disc=conv5"], tmp_path, shared_data_dir)
    GlobalHydra.instance().clear()
    assert OmegaConf.to_container(cfg.disc) == OmegaConf.to_container(expected.disc)
    assert cfg.generator.ngf == 4  # the run's own overrides are kept
    assert cfg.paths.data_dir == str(shared_data_dir)  # and its paths
