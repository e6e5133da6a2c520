import math

import pytest
import torch

from videogen3d.metrics.video import TemporalConsistencyError, video_metrics, video_to_frames


def _video(seed: int = 0, shape=(2, 3, 5, 16, 16)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_frames_layout_and_range():
    v = _video()
    frames = video_to_frames(v)
    assert frames.shape == (2 * 5, 3, 16, 16)
    # frame t of video b is row b*T + t, rescaled from [-1, 1] to [0, 1]
    torch.testing.assert_close(frames[1 * 5 + 3], (v[1, :, 3] + 1) / 2)
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        video_to_frames(v[0])


def test_perfect_prediction_scores():
    v = _video()
    m = video_metrics("val/", frame_size=16)
    m.update(v, v)
    out = m.compute()
    assert set(out) == {"val/mse", "val/psnr", "val/ssim", "val/temporal_error"}
    assert out["val/mse"] == 0 and out["val/temporal_error"] == 0
    assert out["val/ssim"] == pytest.approx(1.0, abs=1e-5)


def test_psnr_matches_mse_on_unit_scale():
    target = _video(1)
    preds = (target + 0.2).clamp(-1, 1)
    m = video_metrics(frame_size=16)
    m.update(preds, target)
    out = m.compute()
    expected_mse = ((preds - target) / 2).pow(2).mean()
    assert out["mse"] == pytest.approx(float(expected_mse), rel=1e-5)
    assert out["psnr"] == pytest.approx(10 * math.log10(1 / float(expected_mse)), rel=1e-4)


def test_temporal_error_sees_flicker_that_frame_metrics_forgive():
    target = torch.zeros(1, 3, 6, 8, 8)  # a still video
    still_offset = target + 0.1  # every frame equally wrong, but no motion
    flicker = target + 0.1 * torch.tensor([1, -1, 1, -1, 1, -1.0]).view(1, 1, 6, 1, 1)  # same frame error
    a, b = TemporalConsistencyError(), TemporalConsistencyError()
    a.update(still_offset, target)
    b.update(flicker, target)
    assert a.compute() == 0
    # every change is ±0.2 on [-1, 1], i.e. ±0.1 on [0, 1]
    assert b.compute() == pytest.approx(0.01, rel=1e-5)


def test_temporal_error_refuses_bad_shapes():
    m = TemporalConsistencyError()
    with pytest.raises(ValueError, match="at least 2 frames"):
        m.update(torch.zeros(1, 3, 1, 4, 4), torch.zeros(1, 3, 1, 4, 4))
    with pytest.raises(ValueError, match="one shape"):
        m.update(torch.zeros(1, 3, 2, 4, 4), torch.zeros(1, 3, 3, 4, 4))


def test_single_clip_batch_is_scored():
    """B=1: the (B, C, T, H, W) -> frames reshape is a view that torchmetrics cannot .view(); it must work."""
    target = _video(2, shape=(1, 3, 4, 16, 16))
    m = video_metrics(frame_size=16)
    m.update((target + 0.1).clamp(-1, 1), target)
    assert all(torch.isfinite(v) for v in m.compute().values())
