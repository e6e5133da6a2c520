"""Tiny untrained networks for the synthesis tests (32x24, 8 frames)."""

import pytest
import torch
from _synth_helpers import C3D_MODULE, CAE_MODULE, VAE_MODULE, build

from videogen3d.tasks.autoencoder import TempCAEModule
from videogen3d.tasks.classifier import VideoClassifier
from videogen3d.tasks.vae import ClipVAEModule


@pytest.fixture
def tiny_classifier() -> VideoClassifier:
    torch.manual_seed(0)
    return build(C3D_MODULE).eval()


@pytest.fixture
def tiny_tempcae() -> TempCAEModule:
    torch.manual_seed(0)
    return build(CAE_MODULE).eval()


@pytest.fixture
def tiny_vae() -> ClipVAEModule:
    torch.manual_seed(0)
    return build(VAE_MODULE).eval()
