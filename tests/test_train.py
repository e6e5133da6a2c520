"""End-to-end training through the real Hydra config, on tiny clips on the CPU."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException, InstantiationException

from videogen3d.data.video_io import read_video
from videogen3d.train import train


def test_fast_dev_run_translator(train_cfg):
    cfg = train_cfg("trainer.fast_dev_run=true", "baselines=false")
    results = train(cfg)
    assert math.isfinite(results["train/loss"])
    assert results["global_step"] == 1


def test_translator_learns_and_writes_media(train_cfg):
    """A few epochs on the tiny set: loss falls, PSNR beats the mean-frame baseline, media decode."""
    cfg = train_cfg("generator=unet4", "generator.ngf=8", "trainer.max_epochs=6", "optim.generator.lr=2e-3",
                    "dataset.batch_size=4")
    results = train(cfg)
    metrics = Path(results["metrics_csv"]).read_text().splitlines()
    header = metrics[0].split(",")
    losses = [float(row.split(",")[header.index("train/loss")]) for row in metrics[1:]
              if row.split(",")[header.index("train/loss")]]
    assert len(losses) >= 10
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    assert results["val/psnr"] > results["baseline/identity_psnr"]
    frames, fps = read_video(results["comparison_video"])
    # 4 samples stacked vertically, condition | generated | target side by side
    assert frames.shape[0] == 4 and fps == pytest.approx(8)
    assert frames.shape[2] >= 3 * 32
    assert Path(results["comparison_png"]).stat().st_size > 0
    assert Path(results["checkpoint"]).exists()


def test_resume_from_last_ckpt_continues_global_step(train_cfg, tmp_path):
    first = train(train_cfg("trainer.max_epochs=1", "baselines=false", "dataset.train_clips_per_epoch=6",
                            name="first"))
    steps_per_epoch = first["global_step"]
    assert steps_per_epoch == 3
    last = Path(first["last_checkpoint"])
    assert last.name == "last.ckpt" and last.exists()
    resumed = train(train_cfg("trainer.max_epochs=2", "baselines=false", "dataset.train_clips_per_epoch=6",
                              f"ckpt_path={last}", name="resumed"))
    assert resumed["global_step"] == 2 * steps_per_epoch
    assert resumed["epochs"] == 2


def test_ddp_sim_two_cpu_processes(train_cfg):
    cfg = train_cfg("trainer=ddp_sim", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
                    "trainer.limit_val_batches=1", "baselines=false", "callbacks.sample_media=null")
    results = train(cfg)
    # the spawned processes trained; the checkpoint they wrote holds their step count
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert state["global_step"] == 2
    assert math.isfinite(results["val/psnr"])


def test_generator_refuses_clip_geometry_before_training(train_cfg):
    cfg = train_cfg("generator=resnet_v4", "dataset.frame_size=40")
    # Hydra wraps the constructor's ValueError; the message names the geometry and the factor
    with pytest.raises((ValueError, InstantiationException), match=r"W=40.*factor 16"):
        train(cfg)


def test_unknown_option_lists_the_choices(train_cfg):
    with pytest.raises(ConfigCompositionException) as err:
        train_cfg("generator=resnet_v9")
    message = str(err.value) + str(err.value.__cause__)
    assert "resnet_v9" in message and "resnet_v4" in message and "unet" in message


def test_adversarial_loss_without_disc_names_both(train_cfg):
    cfg = train_cfg("loss=cgan", "disc=none")
    with pytest.raises(ValueError, match=r"loss=cgan.*disc=none"):
        train(cfg)


def test_bf16_autocast_forward_on_cpu(train_cfg, reference_conv_kernels):
    """bf16-mixed is the GPU trainer's precision; its autocast path also runs on the CPU (through PyTorch's
    reference kernels: see tests/utils/test_precision.py for oneDNN's)."""
    cfg = train_cfg("trainer.fast_dev_run=true", "trainer.precision=bf16-mixed", "baselines=false")
    results = train(cfg)
    assert math.isfinite(results["train/loss"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.gpu
def test_gpu_bf16_fast_dev_run(train_cfg):
    results = train(train_cfg("trainer=gpu", "trainer.fast_dev_run=true", "baselines=false"))
    assert math.isfinite(results["train/loss"])
