"""The GPU code paths, exercised on the CPU: MFU arithmetic, FLOP counting, the FastPath callback, trainer=gpu."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from videogen3d.bench.fastpath import FastPath, cpu_threads
from videogen3d.bench.flops import count_flops, mfu, peak_bf16_flops
from videogen3d.utils.task_config import build_task


def test_peaks_match_device_names_and_unknown_devices_get_none():
    assert peak_bf16_flops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4e12)
    assert peak_bf16_flops("NVIDIA H100 PCIe") == pytest.approx(756e12)
    assert peak_bf16_flops("NVIDIA H200") == pytest.approx(989.4e12)
    assert peak_bf16_flops("NVIDIA A100-SXM4-80GB") == pytest.approx(312e12)
    assert peak_bf16_flops("Tesla T4") is None and peak_bf16_flops(None) is None
    # 494.7 TFLOP in one second on an H100 SXM is half its peak
    assert mfu(int(494.7e12), 1.0, "NVIDIA H100 80GB HBM3") == pytest.approx(0.5)
    assert mfu(10**12, 1.0, None) is None


def test_flop_counter_counts_forward_and_backward():
    lin = torch.nn.Linear(64, 32, bias=False)
    x = torch.randn(8, 64)
    # forward 2*B*in*out; backward the weight gradient only (x needs none): as much again
    assert count_flops(lambda: lin(x).sum().backward()) == 2 * (2 * 8 * 64 * 32)


def test_cpu_threads_drops_to_one_on_a_busy_machine():
    assert cpu_threads(cores=2, load=0.3) == 2
    assert cpu_threads(cores=2, load=6.0) == 1
    assert cpu_threads(cores=8, load=7.9) == 8


def test_trainer_gpu_selects_bf16_the_device_bank_and_cudnn_benchmark(train_cfg):
    cfg = train_cfg("trainer=gpu", tiny=False)
    assert cfg.trainer.precision == "bf16-mixed" and cfg.trainer.benchmark is True
    assert cfg.trainer.accelerator == "gpu" and cfg.dataset.bank_on_device is True
    assert cfg.trainer.max_epochs == 8  # the rest of trainer/default is kept
    # an experiment keeps them, and the command line can still turn the bank off
    cfg = train_cfg("experiment=A-19", "trainer=gpu", "dataset.bank_on_device=false", tiny=False)
    assert cfg.dataset.bank_on_device is False and cfg.trainer.precision == "bf16-mixed"
    cfg = train_cfg("trainer=cpu", tiny=False)
    assert cfg.dataset.bank_on_device is False and cfg.trainer.precision == "32-true"


@pytest.mark.parametrize("overrides", [[], ["disc=conv", "loss=mixed"]], ids=["translator", "gan"])
def test_fastpath_channels_last_trains_the_bf16_device_bank_path_and_keeps_checkpoint_keys(train_cfg, overrides,
                                                                                       reference_conv_kernels):
    """bf16-mixed + bank_on_device + channels_last_3d: the trainer=gpu path, on the CPU."""
    cfg = train_cfg(*overrides, "dataset.bank_on_device=true")
    dm = instantiate(cfg.dataset)
    module = build_task(cfg, dm)
    keys = set(module.state_dict())
    cb = FastPath(channels_last=True)
    trainer = pl.Trainer(accelerator="cpu", devices=1, precision="bf16-mixed", max_epochs=1, limit_train_batches=2, limit_val_batches=1,
                         num_sanity_val_steps=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[cb])
    before = [p.detach().clone() for p in module.generator.parameters()]
    trainer.fit(module, datamodule=dm)
    assert cb.applied == (["generator", "disc"] if overrides else ["generator"])
    conv = next(m for m in module.generator.modules() if isinstance(m, torch.nn.Conv3d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert set(module.state_dict()) == keys
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))  # it trained
    assert torch.isfinite(torch.as_tensor(trainer.callback_metrics["val/psnr"]))


@pytest.mark.slow
def test_fastpath_compile_keeps_checkpoint_keys(train_cfg):
    cfg = train_cfg()
    dm = instantiate(cfg.dataset)
    module = build_task(cfg, dm)
    keys = set(module.state_dict())
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[FastPath(compile=True, compile_backend="aot_eager")])
    trainer.fit(module, datamodule=dm)
    assert set(module.state_dict()) == keys  # nn.Module.compile: no "_orig_mod." prefix
