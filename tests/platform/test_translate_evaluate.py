"""translate and evaluate on real checkpoints: one tiny translator and one tiny GAN, trained once here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from videogen3d.utils.compose import TINY, compose_train
from videogen3d.cli import main
from videogen3d.data.video_io import probe_video, read_video
from videogen3d.platform.checkpoint import load_generator
from videogen3d.platform.corpus import encode, moving_frames
from videogen3d.platform.evaluate import evaluate_checkpoint
from videogen3d.platform.translate import translate_frames, window_starts, window_weights
from videogen3d.train import train

QUICK = ["trainer.limit_train_batches=3", "trainer.limit_val_batches=2", "baselines=false",
         "callbacks.sample_media=null", "callbacks.lr_monitor=null"]


def _train(out: Path, data_dir: Path, *overrides: str) -> Path:
    cfg = compose_train([*QUICK, *overrides], out, data_dir)
    try:
        results = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    # @hydra.main writes .hydra/config.yaml and overrides.yaml itself; under compose the test does
    (out / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), out / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create([*TINY, *QUICK, *overrides]), out / ".hydra" / "overrides.yaml")
    return Path(results["checkpoint"])


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, shared_data_dir) -> Path:
    """A translator (4-level U-Net, ngf 4) on 4-frame 32x32 clips: (t, s) factors (1, 8)."""
    return _train(tmp_path_factory.mktemp("run"), shared_data_dir, "generator=unet4")


@pytest.fixture(scope="module")
def gan_ckpt(tmp_path_factory, shared_data_dir) -> Path:
    """A conditional GAN whose generator takes 2 noise channels and halves T once: factors (2, 4)."""
    return _train(tmp_path_factory.mktemp("gan"), shared_data_dir, "disc=conv", "disc.ndf=4", "loss=cgan",
                  "task.noise_channels=2", "generator.in_channels=5", "generator=resnet_v1", "generator.temporal_down=1")


@pytest.fixture
def source(tmp_path) -> tuple[Path, np.ndarray]:
    frames = moving_frames(23, (44, 36), seed=3)  # 23: no multiple of any window; 44x36 -> resized to 32x32
    return encode(tmp_path / "in.mp4", frames, fps=12), frames


def test_window_weights_cross_fade_to_one_and_windows_cover_everything():
    w = window_weights(8, 4)
    assert w.max() <= 1 and w.min() > 0 and window_weights(9, 2).max() == 1
    assert torch.allclose(w[4:] + w[:4], torch.ones(4))  # neighbours at stride 4 sum to 1
    assert window_starts(23, 8, 4) == [0, 4, 8, 12, 15]
    assert window_starts(5, 8, 4) == [0]


def test_load_generator_reads_the_run_config_and_names_missing_files(ckpt, tmp_path):
    gen = load_generator(ckpt)
    assert gen.clip_len == 4 and gen.frame_size == (32, 32) and gen.down_factors == (1, 8)
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        load_generator(tmp_path / "nope.ckpt")
    lonely = tmp_path / "runs" / "checkpoints" / "x.ckpt"
    lonely.parent.mkdir(parents=True)
    lonely.write_bytes(ckpt.read_bytes())
    with pytest.raises(FileNotFoundError, match=r"runs/\.hydra/config\.yaml.*--config"):
        load_generator(lonely)
    assert load_generator(lonely, config=ckpt.parent.parent / ".hydra" / "config.yaml").clip_len == 4


def test_translate_keeps_length_and_frame_rate_and_writes_the_comparison(ckpt, source, tmp_path, capsys):
    path, frames = source
    target = encode(tmp_path / "target.mp4", moving_frames(23, (44, 36), seed=4), fps=12)
    out, cmp = tmp_path / "out.mp4", tmp_path / "cmp.mp4"
    assert main(["translate", str(ckpt), str(path), "--out", str(out), "--target", str(target),
                 "--compare", str(cmp), "--window", "8", "--overlap", "3"]) == 0
    info = probe_video(out)
    assert info["frames"] == 23 and info["fps"] == pytest.approx(12, abs=0.01)
    assert (info["height"], info["width"]) == (32, 32)
    result = json.loads(capsys.readouterr().out)
    assert set(result["metrics"]) == {"mse", "psnr", "ssim", "temporal_error"}
    comparison, fps = read_video(cmp)
    assert len(comparison) == 23 and fps == pytest.approx(12, abs=0.01)
    assert comparison.shape[2] >= 3 * 32 and comparison.shape[1] > 32  # 3 columns under a caption bar
    bar = comparison[0, :12].astype(int)
    assert bar.max() > 150 and bar.mean() < 80  # white caption text on black


def test_translate_source_size_pads_to_the_down_factor_and_crops_back(ckpt, source, tmp_path):
    path, _ = source  # 44x36 is no multiple of 8: padded to 48x40 inside, cropped back to 44x36
    assert main(["translate", str(ckpt), str(path), "--out", str(tmp_path / "o.mp4"), "--size", "source"]) == 0
    info = probe_video(tmp_path / "o.mp4")
    assert (info["frames"], info["height"], info["width"]) == (23, 44, 36)


def test_gan_checkpoint_with_noise_and_temporal_factor(gan_ckpt, source, tmp_path):
    gen = load_generator(gan_ckpt)
    assert gen.noise_channels == 2 and gen.down_factors == (2, 4)
    path, _ = source  # window 5 is odd: each window is padded to 6 frames and cropped back
    assert main(["translate", str(gan_ckpt), str(path), "--out", str(tmp_path / "g.mp4"), "--window", "5",
                 "--overlap", "2"]) == 0
    assert probe_video(tmp_path / "g.mp4")["frames"] == 23
    short = translate_frames(gen, moving_frames(3, (32, 32)), window=8, overlap=4)  # shorter than a window
    assert short.shape == (3, 32, 32, 3)


STILL = np.broadcast_to(moving_frames(1, (32, 32), seed=5), (30, 32, 32, 3)).copy()  # a static input


def steps(generator, overlap: int, window: int = 8) -> np.ndarray:
    """(29,) mean |frame t+1 - frame t| of the translated static input."""
    out = translate_frames(generator, STILL, window=window, overlap=overlap).astype(np.float64)
    return np.abs(np.diff(out, axis=0)).mean(axis=(1, 2, 3))


def test_blending_weights_are_normalised_a_static_input_stays_static():
    framewise = lambda x: torch.tanh(0.7 * x)  # noqa: E731  static in, static out: any change is the blend's
    for overlap in (0, 3, 4, 7):
        assert steps(framewise, overlap).max() < 0.5


def test_blending_fades_a_window_edge_effect_that_a_hard_cut_shows():
    conv = torch.nn.Conv3d(3, 3, (2, 1, 1), padding=(1, 0, 0), bias=False)
    with torch.no_grad():  # out[t] = (x[t-1] + x[t]) / 2 with zero padding: each window's first frame is dimmed
        conv.weight.copy_(0.5 * torch.eye(3).reshape(3, 3, 1, 1, 1).repeat(1, 1, 2, 1, 1))
    edge = lambda x: conv(x)[:, :, : x.shape[2]]  # noqa: E731
    hard, blended = steps(edge, 0), steps(edge, 4)
    # hard cut: windows start at 0, 8, 16 and 22 (end-aligned); each window's dimmed first frame makes
    # the steps into and out of it jump. Frame 0 is dimmed in any case (only the first window covers
    # it), so steps from 1 on are compared
    borders = [7, 8, 15, 16]
    assert hard[borders].min() > 10 and np.delete(hard, [0, *borders, 21, 22]).max() < 0.5
    assert blended[1:].max() < 0.25 * hard[borders].min()


def test_no_seam_at_window_borders_with_a_trained_generator(ckpt):
    gen = load_generator(ckpt)
    hard, blended = steps(gen, 0), steps(gen, 4)
    hard_borders = [7, 15]
    assert blended[1:].max() <= np.delete(hard, [0, *hard_borders]).max() + 0.5  # none beyond those inside a window
    assert blended[hard_borders].max() < hard[hard_borders].max()


def test_evaluate_prints_the_markdown_table_and_writes_json(ckpt, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(ckpt), "--split", "val", "--json", str(out), "dataset.batch_size=4"]) == 0
    text = capsys.readouterr().out
    for row in ("| MSE |", "| PSNR (dB) |", "| SSIM |", "| temporal consistency error |"):
        assert row in text
    assert "| metric | generator | identity baseline | better |" in text
    result = json.loads(out.read_text())
    assert result["split"] == "val" and result["clips"] > 0
    assert set(result["metrics"]) == {"mse", "psnr", "ssim", "temporal_error"}
    assert np.isfinite(list(result["metrics"].values())).all()


def test_evaluate_default_json_and_clear_errors(ckpt, capsys):
    assert main(["evaluate", str(ckpt), "--split", "test"]) == 0
    assert (ckpt.parent.parent / "eval" / "test.json").is_file()
    assert main(["evaluate", str(ckpt), "--split", "test"]) == 1  # its JSON exists: not replaced silently
    assert "--overwrite" in capsys.readouterr().err
    assert main(["evaluate", str(ckpt), "dataset.test_fraction=0", "--split", "test", "--overwrite"]) == 1
    assert "the test split is empty" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match=r"dataset/nonesuch.*options.*video_pairs"):
        evaluate_checkpoint(ckpt, "val", ["dataset=nonesuch"])
