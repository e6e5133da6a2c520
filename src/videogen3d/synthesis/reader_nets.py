"""The held-out readers' architectures (:mod:`videogen3d.synthesis.readers`): none is a C3D, the judge's 3D ResNet or
the temporal-shift guide, and none uses batch norm as they do.

``check1``–``check4`` read a clip's frames together, so they can tell a direction from the motion; measured on real
clips (:mod:`videogen3d.synthesis.motion`), they and every network of the pipeline read a clip played backwards as the
opposite class, and a mirrored clip played backwards as its own: the direction is read from the motion and hardly
from the way the object points.
``check5`` (:class:`StillFramesReader`) reads each frame on its own and averages the frames' logits, the average
consensus of temporal segment networks (Wang et al. 2016, "Temporal Segment Networks"), a common video classifier: it
is blind to the frames' order by construction, so it can only read what a person sees in a still, the object's
shape and which way it points.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["FramesReader", "FactorisedReader", "Conv3DReader", "StillFramesReader"]


class _Reader(nn.Module):
    """A reader's clip geometry and its logits, ``head(features(x))``."""

    def __init__(self, num_classes: int, clip_len: int, frame_size: Sequence[int]) -> None:
        super().__init__()
        self.num_classes, self.clip_len, self.frame_size = int(num_classes), int(clip_len), [int(v) for v in frame_size]
        self.drop: nn.Module = nn.Identity()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))


def _conv2d_body(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    """Three 3x3 conv + group norm + ReLU blocks of ``widths``, the first two max-pooled, then global average pooling
    and a flatten: ``(N, in_channels, H, W) -> (N, widths[-1])`` (check1 over folded frames, check5 per frame)."""
    layers: list[nn.Module] = []
    width = int(in_channels)
    for i, out in enumerate(widths):
        layers += [nn.Conv2d(width, out, 3, padding=1), nn.GroupNorm(8, out), nn.ReLU()]
        layers.append(nn.MaxPool2d(2) if i < len(widths) - 1 else nn.AdaptiveAvgPool2d(1))
        width = out
    return nn.Sequential(*layers, nn.Flatten())


class FramesReader(_Reader):
    """check1: the ``T`` frames folded into ``T * C`` channels, three 3x3 conv + group norm + ReLU blocks
    (64-128-128; the first two max-pooled), global average pooling, one linear layer."""

    def __init__(self, num_classes: int, clip_len: int, frame_size: Sequence[int], channels: int = 3) -> None:
        super().__init__(num_classes, clip_len, frame_size)
        self.channels = int(channels)
        self.body = _conv2d_body(self.clip_len * self.channels, (64, 128, 128))
        self.head = nn.Linear(128, self.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        return self.body(x.transpose(1, 2).reshape(n, t * c, h, w))


class FactorisedReader(_Reader):
    """check2 / check3: three blocks of a 1x3x3 and a 3x1x1 convolution, instance norm, leaky ReLU and max
    pooling (24-48-96 channels; the first pools space only), global max pooling, dropout, one linear layer."""

    def __init__(self, num_classes: int, clip_len: int, frame_size: Sequence[int], channels: int = 3) -> None:
        super().__init__(num_classes, clip_len, frame_size)
        layers: list[nn.Module] = []
        width = int(channels)
        for out, pool in ((24, (1, 2, 2)), (48, (2, 2, 2)), (96, (2, 2, 2))):
            layers += [nn.Conv3d(width, out, (1, 3, 3), padding=(0, 1, 1)), nn.Conv3d(out, out, (3, 1, 1), padding=(1, 0, 0)),
                       nn.InstanceNorm3d(out, affine=True), nn.LeakyReLU(0.1), nn.MaxPool3d(pool)]
            width = out
        self.body = nn.Sequential(*layers, nn.AdaptiveMaxPool3d(1), nn.Flatten())
        self.drop, self.head = nn.Dropout(0.3), nn.Linear(width, self.num_classes)


class Conv3DReader(_Reader):
    """check4: three 3x3x3 convolutions with group norm and ReLU (32-64-128 channels; max pooling, the first over
    space only), global max pooling, one linear layer."""

    def __init__(self, num_classes: int, clip_len: int, frame_size: Sequence[int], channels: int = 3) -> None:
        super().__init__(num_classes, clip_len, frame_size)
        layers: list[nn.Module] = []
        width = int(channels)
        for out, pool in ((32, nn.MaxPool3d((1, 2, 2))), (64, nn.MaxPool3d(2)), (128, nn.AdaptiveMaxPool3d(1))):
            layers += [nn.Conv3d(width, out, 3, padding=1), nn.GroupNorm(8, out), nn.ReLU(), pool]
            width = out
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(width, self.num_classes)


class StillFramesReader(_Reader):
    """check5: each frame through three 3x3 conv + group norm + ReLU blocks (32-64-128; the first two max-pooled) and
    global average pooling; the frames' features averaged, one linear layer. The head is linear, so the logits are the
    mean of the frames' logits (temporal segment networks' average consensus): a clip in any frame order reads the
    same."""

    def __init__(self, num_classes: int, clip_len: int, frame_size: Sequence[int], channels: int = 3) -> None:
        super().__init__(num_classes, clip_len, frame_size)
        self.body = _conv2d_body(int(channels), (32, 64, 128))
        self.head = nn.Linear(128, self.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        return self.body(x.transpose(1, 2).reshape(n * t, c, h, w)).view(n, t, -1).mean(1)
