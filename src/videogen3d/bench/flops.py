"""Model FLOPs utilisation: FLOPs counted by ``FlopCounterMode`` over the device's dense bf16 peak.

The peaks are the vendors' dense (no 2:4 sparsity) bf16 tensor-core figures, in TFLOP/s, matched by
a substring of ``torch.cuda.get_device_name()`` (first match wins, so the longer names come first).
A device not in the table gets MFU ``None`` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["DENSE_BF16_TFLOPS", "peak_bf16_flops", "count_flops", "mfu"]

# (name substring, dense bf16 TFLOP/s); datasheet figures (NVIDIA H100/H200/A100/L4/L40S/A10, RTX 4090/3090)
DENSE_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.4),        # SXM; same tensor cores as H100 SXM
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.4),        # SXM (the name of the SXM part is "NVIDIA H100 80GB HBM3")
    ("GH200", 989.4),
    ("A100", 312.0),
    ("L40S", 362.1),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("RTX 4090", 165.2),
    ("RTX 3090", 71.0),
)


def peak_bf16_flops(device_name: str | None) -> float | None:
    """Dense bf16 peak in FLOP/s for a CUDA device name, or ``None`` (CPU, unknown device)."""
    if not device_name:
        return None
    for key, tflops in DENSE_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return tflops * 1e12
    return None


def count_flops(step: Callable[[], Any]) -> int:
    """FLOPs of one call of ``step`` (forward and backward: what ``FlopCounterMode`` sees; convs and
    matmuls only, so norms and activations are left out, the usual MFU convention)."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return int(counter.get_total_flops())


def mfu(flops_per_step: int, seconds_per_step: float, device_name: str | None) -> float | None:
    """Achieved FLOP/s over the device's dense bf16 peak, or ``None`` without a known peak."""
    peak = peak_bf16_flops(device_name)
    if peak is None or seconds_per_step <= 0:
        return None
    return flops_per_step / seconds_per_step / peak
