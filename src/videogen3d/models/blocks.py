"""Shared 3D building blocks: conv/norm/activation factories, residual and SE blocks.

Every network in ``videogen3d.models`` is assembled from these pieces so that a new
variant is data (depths, widths, flags), not a new copy of a block.

Layer-counting convention (used to check the depths the seeds report, e.g. "ResNet-V4-50"):
a *counted* layer is a ``Conv3d`` or ``ConvTranspose3d`` on the main path. Projection
shortcuts (sub-modules named ``shortcut``) and squeeze-and-excitation gates (named ``se``)
are not counted, as in the ResNet papers' convention.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from videogen3d.utils.video import frame_hw

Stride = int | tuple[int, int, int]

NORMS = ("instance", "batch", "none")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "silu", "sigmoid", "none")


def _triple(v: int | Sequence[int]) -> tuple[int, int, int]:
    if isinstance(v, int):
        return (v, v, v)
    t = tuple(int(x) for x in v)
    if len(t) != 3:
        raise ValueError(f"expected an int or 3 ints (t, h, w), got {v!r}")
    return t  # type: ignore[return-value]


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``instance`` (affine, no running stats: pix2pix-style), ``batch`` or ``none``."""
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


def activation(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    if kind == "gelu":
        return nn.GELU()
    if kind == "silu":
        return nn.SiLU(inplace=True)
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {kind!r}; expected one of {ACTIVATIONS}")


def conv3d(
    in_ch: int,
    out_ch: int,
    kernel: int | Sequence[int] = 3,
    stride: Stride = 1,
    *,
    transposed: bool = False,
    bias: bool = True,
    spectral_norm: bool = False,
    padding_mode: str = "zeros",
) -> nn.Module:
    """A 'same'-padded 3D conv; with ``transposed`` and stride s it up-samples exactly by s."""
    k, s = _triple(kernel), _triple(stride)
    pad = tuple(kk // 2 for kk in k)
    if transposed:
        # output = (in-1)*s - 2p + k + output_padding == in*s  when output_padding = s - k + 2p
        out_pad = tuple(ss - kk + 2 * pp for ss, kk, pp in zip(s, k, pad))
        if any(not 0 <= o < max(ss, 1) for o, ss in zip(out_pad, s)):
            raise ValueError(f"a transposed conv with kernel {k} cannot up-sample exactly by stride {s}")
        conv: nn.Module = nn.ConvTranspose3d(in_ch, out_ch, k, s, pad, out_pad, bias=bias)
    else:
        conv = nn.Conv3d(in_ch, out_ch, k, s, pad, bias=bias, padding_mode=padding_mode)
    return nn.utils.parametrizations.spectral_norm(conv) if spectral_norm else conv


class ConvNormAct(nn.Sequential):
    """conv -> norm -> activation; the unit every network here stacks."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int | Sequence[int] = 3,
        stride: Stride = 1,
        *,
        norm: str = "instance",
        act: str = "relu",
        transposed: bool = False,
        spectral_norm: bool = False,
        padding_mode: str = "zeros",
    ) -> None:
        # a bias right before a normalising layer is redundant
        bias = norm == "none"
        super().__init__(
            conv3d(in_ch, out_ch, kernel, stride, transposed=transposed, bias=bias,
                   spectral_norm=spectral_norm, padding_mode=padding_mode),
            norm_layer(norm, out_ch),
            activation(act),
        )


class SEGate3d(nn.Module):
    """Squeeze-and-excitation channel gate (Hu et al., 2018), as in seed 000 §3.7."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, H, W)
        w = self.fc(x.mean(dim=(2, 3, 4)))  # (B, C)
        return x * w[:, :, None, None, None]


# A residual block type, passed as a class or a ``_partial_`` config node (as torchvision's video ResNet
# takes its block): ``block(in_ch, out_ch, stride, norm=..., act=..., se=..., transposed=...)``.
BlockFactory = Callable[..., nn.Module]


class ResBlock3d(nn.Module):
    """Two 3x3x3 convs with an identity (or 1x1x1 projection) shortcut; 2 counted layers.

    ``stride`` > 1 down-samples in the first conv; with ``transposed`` it up-samples instead.
    ``se`` adds a squeeze-and-excitation gate on the residual branch before the sum.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: Stride = 1,
        *,
        norm: str = "instance",
        act: str = "relu",
        se: bool = False,
        transposed: bool = False,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        s = _triple(stride)
        self.conv1 = ConvNormAct(in_ch, out_ch, 3, s, norm=norm, act=act, transposed=transposed,
                                 padding_mode=padding_mode)
        self.conv2 = ConvNormAct(out_ch, out_ch, 3, 1, norm=norm, act="none", padding_mode=padding_mode)
        self.se = SEGate3d(out_ch) if se else None
        self.shortcut: nn.Module
        if in_ch == out_ch and s == (1, 1, 1):
            self.shortcut = nn.Identity()
        elif transposed:
            self.shortcut = nn.Sequential(nn.Upsample(scale_factor=s, mode="nearest"),
                                          nn.Conv3d(in_ch, out_ch, 1, bias=False), norm_layer(norm, out_ch))
        else:
            self.shortcut = nn.Sequential(nn.Conv3d(in_ch, out_ch, 1, s, bias=False), norm_layer(norm, out_ch))
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        if self.se is not None:
            y = self.se(y)
        return self.act(y + self.shortcut(x))


class BottleneckBlock3d(nn.Module):
    """1x1x1 reduce -> 3x3x3 -> 1x1x1 expand residual block (ResNet-50 style); 3 counted layers."""

    def __init__(self, channels: int, *, norm: str = "instance", act: str = "relu", se: bool = False,
                 reduction: int = 4, padding_mode: str = "zeros") -> None:
        super().__init__()
        mid = max(channels // reduction, 8)
        self.body = nn.Sequential(
            ConvNormAct(channels, mid, 1, norm=norm, act=act),
            ConvNormAct(mid, mid, 3, norm=norm, act=act, padding_mode=padding_mode),
            ConvNormAct(mid, channels, 1, norm=norm, act="none"),
        )
        self.se = SEGate3d(channels) if se else None
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.se is not None:
            y = self.se(y)
        return self.act(y + x)


_CONV_BN = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d),
            (nn.ConvTranspose2d, nn.BatchNorm2d), (nn.ConvTranspose3d, nn.BatchNorm3d))


def frozen_copy(net: nn.Module) -> nn.Module:
    """A copy of ``net`` for the input gradients of a frozen network (synthesis's guides and priors): eval mode, no
    parameter gradients, every convolution (or transposed one) followed by a batch norm in an ``nn.Sequential`` folded into one
    convolution (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and 3D convolution weights in NDHWC memory
    (``torch.channels_last_3d``). The same function to float rounding; ``net`` itself is not changed. Synthesis
    iterations at scale=cpu ran 1.16x (eq. 8), 1.35x (eq. 11) and 1.51x (ours_dae) faster on a 2-core CPU
    (``python -m videogen3d.bench synthesis --guides plain,frozen_copy``; README, Performance)."""
    frozen = copy.deepcopy(net).eval()
    for seq in [m for m in frozen.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            if any(type(conv) is c and type(bn) is n for c, n in _CONV_BN) and bn.track_running_stats:
                seq._modules[a] = nn.utils.fusion.fuse_conv_bn_eval(conv, bn, transpose=conv.transposed)
                seq._modules[b] = nn.Identity()
    for m in frozen.modules():
        if isinstance(m, nn.Conv3d):
            m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last_3d)
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


def count_conv_layers(module: nn.Module) -> int:
    """Counted conv layers of ``module`` (see the module docstring for the convention)."""
    n = 0
    for name, child in module.named_children():
        if name in ("shortcut", "se"):
            continue
        if isinstance(child, (nn.Conv3d, nn.ConvTranspose3d)):
            n += 1
        else:
            n += count_conv_layers(child)
    return n


def check_flag(name: str, value: object) -> bool:
    """``value`` if it is a bool; else a ``ValueError`` naming ``name`` (a string from the command line such as
    ``'maybe'`` would otherwise read as True)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def check_fraction(name: str, value: object, why: str = "") -> float:
    """``value`` as a float if it is a number in [0, 1]; else a ``ValueError`` naming ``name`` and the value
    (booleans, strings and NaN are refused: a command-line ``true`` or ``half`` is not a share). ``why`` is
    appended to the message."""
    if isinstance(value, (bool, str)) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}={value!r} must be a number in [0, 1]{why}")
    return float(value)


def check_geometry(
    network: str, clip_len: int, frame_size: int | Sequence[int], t_factor: int, s_factor: int,
    *, min_clip_len: int = 1,
) -> None:
    """Refuse a clip geometry that ``network``'s down-sampling cannot handle.

    ``t_factor``/``s_factor`` are the total temporal/spatial down-sampling factors; the clip
    length and both frame sides must be divisible by them (and leave at least one cell).
    """
    h, w = frame_hw(frame_size)
    problems = []
    if clip_len < min_clip_len:
        problems.append(f"clip_len={clip_len} is shorter than the minimum {min_clip_len}")
    if clip_len % t_factor:
        problems.append(f"clip_len={clip_len} is not divisible by its temporal down-sampling factor "
                        f"{t_factor} (try clip_len={max(t_factor, clip_len // t_factor * t_factor)})")
    for side, v in (("height", h), ("width", w)):
        if v % s_factor or v < s_factor:
            problems.append(f"frame {side}={v} is not a positive multiple of its spatial down-sampling "
                            f"factor {s_factor}")
    if problems:
        raise ValueError(f"{network} cannot take clips of T={clip_len}, H={h}, W={w}: " + "; ".join(problems))
