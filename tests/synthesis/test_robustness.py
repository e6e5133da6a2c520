"""The robustness command: a classifier checkpoint's accuracy on real clips, clean, under FGSM and under PGD."""

import json
import subprocess
import sys

import pytest
import torch
from _synth_helpers import C3D_MODULE, VAE_MODULE, build, save_module
from torch import nn

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.robustness import attack_accuracy, main


class _Mean(nn.Module):
    """Class 0 where the clip's mean pixel is above ``threshold``, class 1 below: a margin of
    ``|mean - threshold|``, which an L-inf attack of radius ``eps`` crosses when ``eps`` exceeds it."""

    def __init__(self, threshold: float, scale: float = 1.0) -> None:
        super().__init__()
        self.threshold, self.scale = threshold, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.flatten(1).mean(1) - self.threshold
        return torch.stack([m, -m], 1) * self.scale


def test_an_attack_flips_every_clip_inside_its_radius_and_none_outside():
    torch.manual_seed(0)
    clips = torch.full((6, 3, 2, 4, 4), 0.2)  # mean 0.2: class 0 for a threshold of 0.1 (margin 0.1)
    labels = torch.zeros(6, dtype=torch.long)
    net = _Mean(threshold=0.1)
    assert attack_accuracy(net, clips, labels, 0.0, 1).all()                 # clean: all right
    assert not attack_accuracy(net, clips, labels, 0.15, 5).any()           # PGD past the margin: all wrong
    assert attack_accuracy(net, clips, labels, 0.05, 5).all()               # inside the margin: none flipped


def test_a_net_that_ignores_its_input_cannot_be_attacked():
    class Constant(nn.Module):
        def forward(self, x):
            return x.new_tensor([[2.0, 0.0]]).expand(len(x), 2) + 0 * x.flatten(1)[:, :1]

    clips, labels = torch.rand(4, 3, 2, 4, 4) * 2 - 1, torch.tensor([0, 0, 1, 1])
    for eps, steps in ((0.0, 1), (0.5, 1), (0.5, 10)):
        assert attack_accuracy(Constant(), clips, labels, eps, steps).tolist() == [True, True, False, False]


def test_the_command_reads_a_c3d_checkpoint_and_writes_its_figures(tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = tmp_path / "checkpoints" / "classifier_robust.ckpt"
    save_module(build(C3D_MODULE), C3D_MODULE, ckpt)
    out = tmp_path / "robustness.json"
    assert main([str(ckpt), "--clips-per-class", "2", "--steps", "2", "--json", str(out)]) == 0
    r = json.loads(out.read_text())[str(ckpt)]
    assert (r["clips"], r["steps"], r["eps"], r["norm"]) == (2 * len(CLASS_NAMES), 2, 0.1, "linf")
    assert list(r["pgd_per_class"]) == list(CLASS_NAMES) and r["weakest"] in CLASS_NAMES
    assert r["pgd_per_class"][r["weakest"]] == min(r["pgd_per_class"].values())
    assert all(0.0 <= r[k] <= 1.0 for k in ("clean", "fgsm", "pgd"))
    assert abs(r["pgd"] - sum(r["pgd_per_class"].values()) / len(CLASS_NAMES)) < 1e-6
    printed = capsys.readouterr().out
    assert f"{ckpt}: clean {r['clean']:.3f}, FGSM {r['fgsm']:.3f}, PGD-2 {r['pgd']:.3f}" in printed


def test_bad_input_is_refused_naming_it(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        main([str(tmp_path / "nothing.ckpt")])
    vae = tmp_path / "vae.ckpt"
    save_module(build(VAE_MODULE), VAE_MODULE, vae)
    with pytest.raises(ValueError, match="builds a ClipVAEModule, not a VideoClassifier"):
        main([str(vae)])
    for bad, text in ((["--eps", "0"], "--eps 0.0"), (["--steps", "0"], "--steps 0"), (["--seed", "-1"], "--seed -1")):
        with pytest.raises(SystemExit):
            main([str(vae), *bad])
        assert text in capsys.readouterr().err
    # as a program: one line naming the file, rc 1, no traceback
    done = subprocess.run([sys.executable, "-m", "videogen3d.synthesis.robustness", str(tmp_path / "nothing.ckpt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"videogen3d.synthesis.robustness: no checkpoint at "
                                                f"{str(tmp_path / 'nothing.ckpt')!r}"]
