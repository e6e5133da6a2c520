"""bf16 on the CPU: oneDNN's wrong bf16 Conv3d weight gradients are found by a probe and refused, by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from videogen3d.synthesis.stages import run
from videogen3d.train import train
from videogen3d.utils import precision
from videogen3d.utils.config import ConfigError

CONF = str(Path(__file__).resolve().parents[2] / "conf")


def _trainer(prec: str) -> pl.Trainer:
    return pl.Trainer(accelerator="cpu", devices=1, precision=prec, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)


def test_the_reference_kernels_get_a_two_frame_bf16_weight_gradient_right(reference_conv_kernels):
    # the probe's case through PyTorch's own kernels: bf16 rounding only, on every CPU
    assert precision._probe.__wrapped__(precision.mkldnn_on()) < 0.01


def test_the_probe_reports_a_wrong_weight_gradient(monkeypatch, reference_conv_kernels):
    # a conv3d whose weight gradient comes out doubled: a stand-in for a faulty kernel, on top of right ones
    conv3d = F.conv3d

    def doubled_weight_grad(x, w, *args, **kwargs):
        if w.dtype == torch.bfloat16:
            w.register_hook(lambda g: 2 * g)
        return conv3d(x, w, *args, **kwargs)

    monkeypatch.setattr(precision.F, "conv3d", doubled_weight_grad)
    assert precision._probe.__wrapped__(precision.mkldnn_on()) == pytest.approx(1.0, abs=0.01)


def test_the_probe_measures_under_autocast_and_no_grad_as_outside(reference_conv_kernels):
    plain = precision._probe.__wrapped__(False)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert precision._probe.__wrapped__(False) == plain
    assert precision.cpu_bf16_conv3d_weight_grad_error() == plain  # keyed by the setting: mkldnn off here


def test_the_probe_leaves_the_global_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    precision._probe.__wrapped__(precision.mkldnn_on())
    assert torch.equal(torch.rand(3), expected)


@pytest.fixture
def faulty_cpu(monkeypatch):
    """This CPU as one whose bf16 Conv3d weight gradients are wrong (relative error 1.0)."""
    monkeypatch.setattr(precision, "cpu_bf16_conv3d_weight_grad_error", lambda: 1.0)
    monkeypatch.setattr(precision, "mkldnn_on", lambda: True)  # whether or not this torch has oneDNN at all


@pytest.mark.parametrize(("prec", "runs_as"), [("bf16-mixed", "bf16-mixed"), ("bf16-true", "bf16-true"),
                                               ("16-mixed", "bf16-mixed")])  # Lightning runs 16-mixed as bf16 on a CPU
def test_bf16_on_a_faulty_cpu_is_refused_by_name(prec, runs_as, faulty_cpu):
    with pytest.raises(ConfigError, match=rf"trainer\.precision='{runs_as}' on the CPU: .*relative error 1 against "
                                          rf"float64.*Use trainer\.precision=32-true on the CPU"):
        precision.check_precision(_trainer(prec))


def test_float32_or_the_reference_kernels_are_let_through(faulty_cpu, monkeypatch):
    for prec in ("32-true", "64-true"):
        precision.check_precision(_trainer(prec))
    monkeypatch.setattr(precision, "mkldnn_on", lambda: False)  # PyTorch's own kernels: right, if slow
    precision.check_precision(_trainer("bf16-mixed"))


def test_mkldnn_on_reads_the_torch_setting(reference_conv_kernels):
    assert precision.mkldnn_on() is False


def test_a_cpu_without_the_fault_is_let_through(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_conv3d_weight_grad_error", lambda: 0.002)
    precision.check_precision(_trainer("bf16-mixed"))


def test_train_refuses_before_it_fits(train_cfg, faulty_cpu, tmp_path):
    cfg = train_cfg("trainer.precision=bf16-mixed", "trainer.max_epochs=1")
    with pytest.raises(ConfigError, match=r"trainer\.precision='bf16-mixed' on the CPU"):
        train(cfg)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_synth_stage_all_refuses_before_any_training(tmp_path, faulty_cpu):
    overrides = [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out", f"work_dir={tmp_path}/work",
                 "scale=tiny", "stage=all", "trainer.precision=bf16-mixed"]
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("synth", overrides=overrides)
    with pytest.raises(ConfigError, match=r"trainer\.precision='bf16-mixed' on the CPU"):
        run(cfg)
    assert not (tmp_path / "work" / "checkpoints").exists() or not any((tmp_path / "work" / "checkpoints").iterdir())
