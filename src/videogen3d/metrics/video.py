"""Video metrics on torchmetrics: frame MSE, PSNR and SSIM, plus a temporal-consistency error.

All metrics take ``(B, C, T, H, W)`` videos in [-1, 1] (the models' range) and score them on the
[0, 1] scale, so PSNR = 10·log10(1 / MSE). The frame metrics see every frame as an image.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from torchmetrics.regression import MeanSquaredError

from videogen3d.utils.video import frame_hw


def video_to_frames(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) in [-1, 1] -> (B·T, C, H, W) in [0, 1], in float32 (safe under bf16)."""
    if video.ndim != 5:
        raise ValueError(f"expected a (B, C, T, H, W) video, got shape {tuple(video.shape)}")
    b, c, t, h, w = video.shape
    frames = video.float().transpose(1, 2).reshape(b * t, c, h, w).contiguous()  # B=1 gives a view
    return frames.add(1).mul(0.5).clamp(0, 1)


class _OnFrames:
    """Mixin: feed a torchmetrics image metric with the frames of two videos."""

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:  # type: ignore[override]
        super().update(video_to_frames(preds), video_to_frames(target))  # type: ignore[misc]


class FrameMSE(_OnFrames, MeanSquaredError):
    pass


class FramePSNR(_OnFrames, PeakSignalNoiseRatio):
    pass


class FrameSSIM(_OnFrames, StructuralSimilarityIndexMeasure):
    pass


class TemporalConsistencyError(Metric):
    """Mean squared difference between generated and target frame-to-frame changes.

    Seed 000 calls the failure this catches "dynamic features": details that flicker from
    frame to frame although the target holds still. A video whose frames are each close to the
    target but that flickers scores badly here; 0 means the motion matches exactly.
    """

    higher_is_better = False
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("sum_sq", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        if preds.shape != target.shape or preds.ndim != 5:
            raise ValueError(f"expected two (B, C, T, H, W) videos of one shape, got "
                             f"{tuple(preds.shape)} and {tuple(target.shape)}")
        if preds.shape[2] < 2:
            raise ValueError("the temporal-consistency error needs clips of at least 2 frames")
        # on the [0, 1] scale, like the frame metrics
        d_pred = preds.float().diff(dim=2) * 0.5
        d_true = target.float().diff(dim=2) * 0.5
        self.sum_sq += (d_pred - d_true).pow(2).sum().double()
        self.count += d_pred.numel()

    def compute(self) -> torch.Tensor:
        return (self.sum_sq / self.count.clamp(min=1)).float()


def video_metrics(
    prefix: str = "", ssim_kernel: int = 11, frame_size: int | Sequence[int] | None = None
) -> MetricCollection:
    """MSE, PSNR, SSIM over frames and the temporal-consistency error, keyed ``{prefix}mse`` etc.

    ``frame_size`` (an int or (H, W)) shrinks the SSIM window to fit tiny test clips.
    """
    if frame_size is not None:
        side = min(frame_hw(frame_size))
        ssim_kernel = min(ssim_kernel, side - 1 if side % 2 == 0 else side)
    return MetricCollection(
        {
            "mse": FrameMSE(),
            "psnr": FramePSNR(data_range=1.0),
            "ssim": FrameSSIM(data_range=1.0, kernel_size=ssim_kernel),
            "temporal_error": TemporalConsistencyError(),
        },
        prefix=prefix,
    )
