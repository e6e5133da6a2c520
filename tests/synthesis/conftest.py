"""Tiny untrained networks for the synthesis tests (32x24, 8 frames)."""

import pytest
import torch
from _synth_helpers import C3D_NET, CAE_NET

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.tasks.autoencoder import TempCAEModule
from videogen3d.tasks.classifier import VideoClassifier


@pytest.fixture
def tiny_classifier() -> VideoClassifier:
    torch.manual_seed(0)
    return VideoClassifier(C3D_NET, CLASS_NAMES, 8, (24, 32)).eval()


@pytest.fixture
def tiny_tempcae() -> TempCAEModule:
    torch.manual_seed(0)
    return TempCAEModule(CAE_NET, 3, 8, (24, 32)).eval()
