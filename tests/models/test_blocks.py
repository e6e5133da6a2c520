"""Shared 3D blocks: shapes, up/down-sampling, SE gate, layer counting, geometry messages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from videogen3d.models.blocks import (
    BottleneckBlock3d, ConvNormAct, ResBlock3d, SEGate3d, check_geometry, conv3d, count_conv_layers,
)


@pytest.mark.parametrize("stride,out_t", [((1, 2, 2), 4), ((2, 2, 2), 2)])
def test_resblock_down_and_up(stride, out_t):
    x = torch.randn(2, 8, 4, 16, 16)
    down = ResBlock3d(8, 16, stride)
    y = down(x)
    assert y.shape == (2, 16, out_t, 8, 8)
    up = ResBlock3d(16, 8, stride, transposed=True)
    assert up(y).shape == x.shape


def test_resblock_identity_shortcut_and_se():
    block = ResBlock3d(8, 8, se=True)
    assert isinstance(block.shortcut, nn.Identity)
    assert block(torch.randn(1, 8, 2, 8, 8)).shape == (1, 8, 2, 8, 8)


def test_bottleneck_keeps_shape():
    block = BottleneckBlock3d(32, se=True)
    x = torch.randn(2, 32, 2, 4, 4)
    assert block(x).shape == x.shape


def test_se_gate_scales_each_channel_by_a_value_in_0_1():
    torch.manual_seed(0)
    gate = SEGate3d(16)
    x = torch.rand(2, 16, 2, 4, 4) + 0.5
    ratio = gate(x) / x  # the gate value per (sample, channel), broadcast over T, H, W
    assert (ratio > 0).all() and (ratio < 1).all()
    flat = ratio.flatten(2)
    assert torch.allclose(flat, flat[..., :1].expand_as(flat))


def test_count_conv_layers_skips_shortcut_and_se():
    assert count_conv_layers(ResBlock3d(8, 16, 2, se=True)) == 2  # projection shortcut not counted
    assert count_conv_layers(ResBlock3d(8, 16, 2, se=True, transposed=True)) == 2
    assert count_conv_layers(BottleneckBlock3d(32, se=True)) == 3
    assert count_conv_layers(nn.Sequential(ConvNormAct(3, 8), nn.MaxPool3d(2), ConvNormAct(8, 8))) == 2


@pytest.mark.parametrize("kernel,stride", [(3, (1, 2, 2)), (3, 2), ((3, 7, 7), (1, 2, 2)), (1, 2), (5, 2)])
def test_transposed_conv3d_upsamples_exactly(kernel, stride):
    conv = conv3d(4, 4, kernel, stride, transposed=True)
    s = (stride,) * 3 if isinstance(stride, int) else stride
    y = conv(torch.zeros(1, 4, 3, 5, 7))
    assert y.shape[2:] == (3 * s[0], 5 * s[1], 7 * s[2])


def test_transposed_conv3d_refuses_inexact_kernel():
    with pytest.raises(ValueError, match="exactly"):
        conv3d(4, 4, 4, 2, transposed=True)


def test_check_geometry_accepts_and_names_the_problem():
    check_geometry("Net", 8, [64, 32], 4, 16)
    with pytest.raises(ValueError) as err:
        check_geometry("Net", 9, 40, 4, 16)
    msg = str(err.value)
    assert "Net" in msg and "clip_len=9" in msg and "factor 4" in msg and "40" in msg and "factor 16" in msg
