"""Adversarial losses for the conditional GAN (seed 000 §4.2) and feature matching.

The seed trains its discriminator with binary cross entropy, "zeros to represent fake video
and ones to represent real video" (``mode="vanilla"``: BCE on logits, numerically safe under
mixed precision). ``lsgan`` (Mao et al., 2017: least squares to the same targets) and
``hinge`` (Lim & Ye, 2017; SAGAN, BigGAN) are what users of pix2pix and vid2vid expect.
Every loss is computed in float32 whatever the autocast dtype of the logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("vanilla", "lsgan", "hinge")


class GANLoss(nn.Module):
    """``loss(logits, target_is_real, for_discriminator=True)`` averaged over every logit.

    Targets are registered buffers (pix2pix ``GANLoss``), so they follow the module's device
    and ``target_real=0.9`` gives one-sided label smoothing. ``hinge`` ignores the targets:
    D minimises ``relu(1 - D(real)) + relu(1 + D(fake))`` and G minimises ``-D(fake)``.
    """

    def __init__(self, mode: str = "vanilla", target_real: float = 1.0, target_fake: float = 0.0) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"GANLoss: mode={mode!r} is not one of {GAN_MODES} (set loss.adversarial.mode)")
        self.mode = mode
        self.register_buffer("real_label", torch.tensor(float(target_real)))
        self.register_buffer("fake_label", torch.tensor(float(target_fake)))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"

    def target(self, logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        return (self.real_label if target_is_real else self.fake_label).expand_as(logits)

    def forward(self, logits: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        logits = logits.float()
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(logits, self.target(logits, target_is_real))
        if self.mode == "lsgan":
            return F.mse_loss(logits, self.target(logits, target_is_real))
        if not for_discriminator:  # hinge, generator side
            return -logits.mean()
        return F.relu(1.0 - logits).mean() if target_is_real else F.relu(1.0 + logits).mean()

    @torch.no_grad()
    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """What D says of a batch, for logging: the mean sigmoid probability of 'real' for
        ``vanilla`` (the seed's D output), the raw mean output otherwise."""
        logits = logits.float()
        return torch.sigmoid(logits).mean() if self.mode == "vanilla" else logits.mean()

    @property
    def threshold(self) -> float:
        """The logit above which D calls a sample real: 0 (p = 0.5) for vanilla and hinge,
        midway between the targets for lsgan."""
        if self.mode == "lsgan":
            return float(self.real_label + self.fake_label) / 2
        return 0.0

    @torch.no_grad()
    def accuracy(self, logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """Fraction of logits (patches) that D classifies correctly."""
        real = logits.float() > self.threshold
        return (real if target_is_real else ~real).float().mean()


def feature_matching_loss(real_feats: Sequence[torch.Tensor], fake_feats: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over D's intermediate layers of the L1 distance between its features of the real
    and of the generated video (pix2pixHD); real features are targets (detached). Pass
    ``disc.features(...)[:-1]``: the logits are left to the adversarial term."""
    if len(real_feats) != len(fake_feats) or not real_feats:
        raise ValueError(f"feature matching needs the same non-zero number of real and fake feature maps, "
                         f"got {len(real_feats)} and {len(fake_feats)}")
    terms = [F.l1_loss(f.float(), r.detach().float()) for r, f in zip(real_feats, fake_feats)]
    return torch.stack(terms).mean()
