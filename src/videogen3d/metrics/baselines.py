"""Trivial baselines a trained translator must beat, scored like the model (PSNR on [0, 1]).

- identity: the condition clip itself as the output;
- mean target frame: the per-pixel mean of every training target frame, for every frame.
"""

from __future__ import annotations

import torch
from torchmetrics.image import PeakSignalNoiseRatio

from videogen3d.metrics.video import video_to_frames
from videogen3d.utils.video import uint8_to_unit


@torch.no_grad()
def baseline_psnr(datamodule) -> dict[str, float]:
    """PSNR of the two baselines on the validation split of a paired ``VideoDataModule``."""
    if not getattr(datamodule, "has_condition", False):
        return {}
    train_bank = datamodule.train_bank
    mean_frame = train_bank.target.float().mean(dim=0)  # (H, W, 3) in [0, 255]
    mean_frame = uint8_to_unit(mean_frame).permute(2, 0, 1)  # (3, H, W) in [-1, 1]
    identity, mean = PeakSignalNoiseRatio(data_range=1.0), PeakSignalNoiseRatio(data_range=1.0)
    for batch in datamodule.val_dataloader():
        batch = datamodule.on_after_batch_transfer(batch, 0)
        target = batch["target"]
        identity.update(video_to_frames(batch["cond"]), video_to_frames(target))
        mean_video = mean_frame[None, :, None].expand_as(target)
        mean.update(video_to_frames(mean_video), video_to_frames(target))
    return {"baseline/identity_psnr": float(identity.compute()), "baseline/mean_frame_psnr": float(mean.compute())}
