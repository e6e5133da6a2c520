"""What every conditional video discriminator shares (seed 000 §4.2).

A discriminator scores a video ``x`` (B, in_channels, T, H, W) *given* its condition video
``cond`` (B, cond_channels, T, H, W): the two enter channel-wise concatenated, either
directly (``cond_entry="direct"``, trials B-2, B-6..B-8: "Channel-wise Concatenate") or after
one conv layer on the condition (``cond_entry="conv"``, trials B-1, B-3..B-5: "1 Conv Layer +
Channel-wise Concatenate"). The trunk is built by a subclass; this base owns the entry, the
output head (``patch`` logits per space-time cell, or one ``global`` logit per clip) and
``features`` for feature matching.

Temporal compression ("1/4 in Last Two Layers/Blocks", trials B-1..B-5) halves T in two
trunk stages with kernel-3, padding-1, stride-2 convs, whose output is ``ceil(T/2)``: any
clip length works (T=9 -> 5 -> 3), so only the spatial factor is checked. Frame sides must be
multiples of the spatial factor so that every patch covers whole pixels.

Outputs are raw logits; the loss (``videogen3d.losses.GANLoss``) applies the sigmoid of the
seed's binary cross entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import NORMS, ConvNormAct, check_geometry, conv3d, count_conv_layers

COND_ENTRIES = ("direct", "conv")
OUTPUTS = ("patch", "global")


def trunk_stride(halve_hw: bool, halve_t: bool) -> tuple[int, int, int]:
    """(t, h, w) stride of one trunk stage."""
    return (2 if halve_t else 1, 2 if halve_hw else 1, 2 if halve_hw else 1)


class Discriminator(nn.Module):
    """Base of the conditional discriminators: condition entry, trunk (``self.trunk``), head.

    ``n_layers`` (the ``conv_layers`` count a YAML may state) counts the trunk including the
    logit conv, as the seed's "4 Conv Layers" / "ResNet-11" do; the condition-entry conv is
    counted separately (the seed lists it in its own column), so ``count_conv_layers`` of the
    whole module is ``conv_layers + (cond_entry == "conv")``.
    """

    def __init__(
        self,
        *,
        clip_len: int,
        frame_size: int | Sequence[int],
        in_channels: int = 3,
        cond_channels: int = 3,
        ndf: int = 64,
        max_channels: int = 512,
        norm: str = "instance",
        cond_entry: str = "conv",
        temporal_compress: bool = True,
        output: str = "patch",
        spectral_norm: bool = False,
        s_factor: int,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for key, value, allowed in (("cond_entry", cond_entry, COND_ENTRIES), ("output", output, OUTPUTS),
                                    ("norm", norm, NORMS)):
            if value not in allowed:
                raise ValueError(f"{name}: {key}={value!r} is not one of {allowed}")
        if ndf < 1 or max_channels < ndf:
            raise ValueError(f"{name}: need 1 <= ndf <= max_channels, got ndf={ndf}, max_channels={max_channels}")
        check_geometry(name, int(clip_len), frame_size, 1, s_factor)
        self.clip_len, self.frame_size = int(clip_len), frame_size
        self.in_channels, self.cond_channels = in_channels, cond_channels
        self.ndf, self.max_channels, self.norm = ndf, max_channels, norm
        self.cond_entry_kind, self.output = cond_entry, output
        self.temporal_compress, self.spectral_norm = temporal_compress, spectral_norm
        self.s_factor = s_factor
        self.cond_entry: nn.Module
        if cond_entry == "conv":
            # one conv on the condition before the concatenation (seed 000 §4.2, B-1)
            self.cond_entry = ConvNormAct(cond_channels, cond_channels, 3, 1, norm="none", act="leaky_relu")
        else:
            self.cond_entry = nn.Identity()
        self.trunk = nn.ModuleList()  # filled by the subclass: feature stages, then the logit conv
        self.conv_layers = 0

    @property
    def entry_channels(self) -> int:
        """Channels of the concatenated input the trunk receives."""
        return self.in_channels + self.cond_channels

    def width(self, level: int) -> int:
        """pix2pix width rule: ``ndf * min(2**level, 8)``, capped at ``max_channels``."""
        return min(self.ndf * min(2 ** level, 8), self.max_channels)

    def cna(self, in_ch: int, out_ch: int, stride: tuple[int, int, int], *, norm: str | None = None) -> ConvNormAct:
        return ConvNormAct(in_ch, out_ch, 3, stride, norm=self.norm if norm is None else norm, act="leaky_relu")

    def logit_conv(self, in_ch: int) -> nn.Module:
        """The last trunk layer: one biased conv to a single logit channel (no norm, no activation)."""
        return conv3d(in_ch, 1, 3, 1, bias=True)

    def _finish(self, conv_layers: int | None) -> None:
        """Count the trunk layers, refuse a config that promised another number, and wrap every
        conv (shortcuts included) in spectral norm when asked (Miyato et al., 2018)."""
        self.conv_layers = count_conv_layers(self.trunk)
        if conv_layers is not None and conv_layers != self.conv_layers:
            raise ValueError(f"{type(self).__name__}: the config states conv_layers={conv_layers} but the "
                             f"trunk built has {self.conv_layers} counted conv layers; set conv_layers: "
                             f"{self.conv_layers} or change n_layers/n_blocks")
        if self.spectral_norm:
            for module in list(self.modules()):
                for name, child in list(module.named_children()):
                    if isinstance(child, (nn.Conv3d, nn.ConvTranspose3d)):
                        setattr(module, name, nn.utils.parametrizations.spectral_norm(child))

    def check_input(self, x: torch.Tensor, cond: torch.Tensor) -> None:
        ok = (x.dim() == 5 and cond.dim() == 5 and x.shape[1] == self.in_channels
              and cond.shape[1] == self.cond_channels and x.shape[0] == cond.shape[0]
              and x.shape[2:] == cond.shape[2:])
        if ok:
            ok = all(v % self.s_factor == 0 and v >= self.s_factor for v in x.shape[3:])
        if not ok:
            raise ValueError(f"{type(self).__name__} expects a video (B, {self.in_channels}, T, H, W) and its "
                             f"condition (B, {self.cond_channels}, T, H, W) of the same B, T, H, W with H, W "
                             f"multiples of {self.s_factor}; got {tuple(x.shape)} and {tuple(cond.shape)}")

    def features(self, x: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        """Every trunk stage's output; the last entry is the logits (see ``forward``).

        The intermediate entries are what feature matching compares (pix2pixHD-style)."""
        self.check_input(x, cond)
        h = torch.cat([self.cond_entry(cond), x], dim=1)  # (B, C_cond + C_in, T, H, W)
        feats = []
        for stage in self.trunk:
            h = stage(h)
            feats.append(h)
        if self.output == "global":
            feats[-1] = feats[-1].mean(dim=(2, 3, 4))  # (B, 1): one logit per clip
        return feats

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Logits: (B, 1, T', H', W') for ``patch``, (B, 1) for ``global``."""
        return self.features(x, cond)[-1]
