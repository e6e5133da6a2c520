"""The clip VAE's reconstructions of real clips, read per class (videogen3d.synthesis.reconstruction)."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from _synth_helpers import VAE_MODULE, build, save_module
from PIL import Image

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.synthesis.readers import real_clips_by_class
from videogen3d.synthesis.reconstruction import main, reconstruction_errors, sprite_error


def test_sprite_error_counts_the_sprite_pixels_only():
    real = torch.ones(1, 3, 2, 4, 4)
    real[0, :, 1, 2, 3] = -1.0  # one dark pixel in frame 1
    recon = torch.zeros_like(real)  # grey everywhere: the background's error is not counted
    assert sprite_error(real, recon) == pytest.approx(1.0)  # (0 - (-1))^2 on the 3 channels of the one pixel
    recon[0, :, 1, 2, 3] = -1.0
    assert sprite_error(real, recon) == 0.0
    real[0, 0, 0, 0, 0] = 0.5  # one channel below FOREGROUND_BELOW (0.9) makes the pixel a sprite pixel, all channels
    assert sprite_error(real, recon) == pytest.approx((0.25 + 1 + 1) / 6)
    assert math.isnan(sprite_error(torch.ones(1, 3, 2, 4, 4), recon))
    with pytest.raises(ValueError, match=r"\(1, 3, 2, 4, 4\) and reconstructions \(1, 3, 2, 4, 5\)"):
        sprite_error(real, torch.zeros(1, 3, 2, 4, 5))


class _Copy(torch.nn.Module):
    def reconstruct(self, x):
        return x.clone()


class _White(torch.nn.Module):
    def reconstruct(self, x):
        return torch.ones_like(x)


def test_a_decoder_that_draws_nothing_scores_the_sprites_error():
    by_class = real_clips_by_class([24, 32], 8, 2, seed=8, classes=[0, 8])
    assert reconstruction_errors(_Copy(), by_class) == {"car_right": 0.0, "bicycle_right": 0.0, "mean": 0.0}
    white = reconstruction_errors(_White(), by_class)
    for k, name in ((0, "car_right"), (8, "bicycle_right")):
        x = by_class[k]
        fg = (x < 0.9).any(1, keepdim=True).expand_as(x)
        assert white[name] == pytest.approx(float((1 - x)[fg].pow(2).mean()), rel=1e-5) and white[name] > 0.1
    assert white["mean"] == pytest.approx((white["car_right"] + white["bicycle_right"]) / 2)


def test_main_reads_a_checkpoint_and_writes_the_figure(tmp_path, capsys):
    torch.manual_seed(0)
    vae = tmp_path / "vae.ckpt"
    save_module(build(VAE_MODULE), VAE_MODULE, vae)
    png, js = tmp_path / "rec.png", tmp_path / "rec.json"
    errors = main([str(vae), "--clips-per-class", "2", "--png", str(png), "--classes", "bicycle_right,car_left",
                   "--rows", "1", "--every", "4", "--scale", "1", "--json", str(js)])
    assert list(errors) == [*CLASS_NAMES, "mean"] and all(v > 0 for v in errors.values())  # an untrained decoder
    assert json.loads(js.read_text()) == pytest.approx(errors)
    out = capsys.readouterr().out
    assert f"mean {errors['mean']:.3f}" in out and f"  bicycle_left   {errors['bicycle_left']:.3f}" in out
    # 2 classes x 1 clip x (real, reconstruction) rows of 24 px, 8 frames / 4 = 2 columns of 32 px, 2-px gaps
    assert np.asarray(Image.open(png)).shape == (4 * 24 + 3 * 2, 2 * 32 + 2, 3)


def test_bad_input_is_refused_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        main([str(tmp_path / "nothing.ckpt")])
    vae = tmp_path / "vae.ckpt"
    save_module(build(VAE_MODULE), VAE_MODULE, vae)
    with pytest.raises(ValueError, match=r"--classes: unknown \['bike'\]"):
        main([str(vae), "--png", str(tmp_path / "x.png"), "--classes", "car_right,bike"])
    with pytest.raises(ValueError, match="got 0, 2, 4"):
        main([str(vae), "--clips-per-class", "0"])
    done = subprocess.run([sys.executable, "-m", "videogen3d.synthesis.reconstruction", str(tmp_path / "nothing.ckpt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "nothing.ckpt" in done.stderr
    assert not (tmp_path / "x.png").exists()
