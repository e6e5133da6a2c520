"""Refuse bf16 autocast on a CPU whose oneDNN computes wrong Conv3d weight gradients.

On CPUs with native bf16 (AVX512-BF16, AMX), PyTorch hands a bf16 ``conv3d`` to oneDNN. With the oneDNN
that torch 2.13's CPU wheels ship (v3.12), the weight gradient of a bf16 Conv3d is wrong whenever the
clip has more than one frame but fewer than the kernel is deep (2 frames under a 3-frame kernel with
padding 1; 2 to 4 frames under a 5-frame one): a relative error of about 1 against float64, often 1e17
or more, inf or nan, and different from call to call. A ConvTranspose3d's weight gradient goes wrong
the same way. 1 frame, as many frames as the kernel or more, and Conv2d's 2-row maps were right, and so
are the forward pass and the input gradient, so nothing fails loudly: a model whose deepest layers
compress time to 2 frames (the discriminators, the classifiers) trains on garbage. The same call with
``torch.backends.mkldnn`` off is right but about 200x slower than float32 on this kind of CPU, so the
remedy is float32 on the CPU; bf16-mixed is the precision for CUDA.

:func:`check_precision` probes the defect once per process (a few milliseconds) instead of naming
torch or oneDNN versions, so a build that fixes it is let through unchanged.
"""

from __future__ import annotations

import functools

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.accelerators import CPUAccelerator

from videogen3d.utils.config import ConfigError

# bf16 rounding alone gives a relative error of about 0.002 on the probe
TOLERANCE = 0.05


def cpu_bf16_conv3d_weight_grad_error() -> float:
    """Relative error, against float64, of a bf16 Conv3d weight gradient on the CPU for a clip of 2
    frames under a 3x3x3 kernel (padding 1) with the current ``torch.backends.mkldnn`` setting; measured
    once per process and setting."""
    return _probe(mkldnn_on())


@functools.cache
def _probe(mkldnn: bool) -> float:
    """The measurement (``mkldnn``, the setting it runs under, keys the cache). Its inputs come from a
    private generator, so the global random state is left as it was; autocast and no_grad around the call
    do not apply to it."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 16, 2, 8, 8, generator=gen).bfloat16()
    w0 = (0.1 * torch.randn(8, 16, 3, 3, 3, generator=gen)).bfloat16()
    grad_out = torch.randn(2, 8, 2, 8, 8, generator=gen).bfloat16()
    with torch.enable_grad(), torch.autocast("cpu", enabled=False):
        w = w0.clone().requires_grad_()
        F.conv3d(x, w, padding=1).backward(grad_out)
        ref = w0.double().requires_grad_()
        F.conv3d(x.double(), ref, padding=1).backward(grad_out.double())
    err = ((w.grad.double() - ref.grad).norm() / ref.grad.norm()).item()
    return err if err == err else float("inf")  # nan -> inf, so comparisons refuse it


def mkldnn_on() -> bool:
    return torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled


def check_precision(trainer: pl.Trainer) -> None:
    """A :class:`ConfigError` naming ``trainer.precision`` if the trainer runs bf16 on the CPU and this
    CPU's oneDNN gets bf16 Conv3d weight gradients wrong; nothing otherwise (CUDA, float32, or
    ``torch.backends.mkldnn`` off, whose reference kernels are right)."""
    precision = str(trainer.precision)
    if not isinstance(trainer.accelerator, CPUAccelerator) or not precision.startswith("bf16") or not mkldnn_on():
        return
    err = cpu_bf16_conv3d_weight_grad_error()
    if err <= TOLERANCE:
        return
    raise ConfigError(
        f"trainer.precision={precision!r} on the CPU: this torch build's oneDNN computes wrong bf16 Conv3d "
        f"weight gradients where a clip has more than one frame but fewer than the kernel (2 frames under a 3-frame "
        f"kernel: relative error {err:.3g} against float64), which the networks' deepest layers reach at any "
        f"frame size. Use trainer.precision=32-true on the CPU; bf16-mixed is for CUDA (trainer=gpu)"
    )
