"""Conditional 3D discriminators (seed 000 §4): conv-N (PatchGAN-like) and ResNet-11."""

from videogen3d.models.discriminators._base import COND_ENTRIES, OUTPUTS, Discriminator
from videogen3d.models.discriminators.conv import ConvDiscriminator
from videogen3d.models.discriminators.resnet import ResNetDiscriminator

__all__ = ["COND_ENTRIES", "OUTPUTS", "ConvDiscriminator", "Discriminator", "ResNetDiscriminator"]
