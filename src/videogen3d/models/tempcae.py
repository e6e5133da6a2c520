"""tempCAE: the temporal convolutional auto-encoder of seed 003 (§3.4, eqs. 4-5, Figure 2).

``CS`` ("concatenated size") consecutive frames ``x[i, CS]`` form one multi-channel input. The
encoder's first layer is a 3D convolution whose temporal kernel spans all ``CS`` frames with no
temporal padding (eq. 4: ``h = σ(x[i, CS] * W + b)``), so the code has one time step, as in the
seed's "multi-channels image"; further encoder layers down-sample in space. The decoder
up-samples back and its last layer emits ``C * CS`` channels, reshaped to the ``CS`` frames
(eq. 5). Widths, depth and norms are not given by the seed; ours are ``widths`` (one encoder
level each, each after the first halving H and W).

:meth:`TempCAE.window_error` applies the network to every window ``i .. i+CS-1`` of a clip
(``T - CS + 1`` windows) and averages the squared error (the training MSE);
:meth:`TempCAE.decoded_error` is the decoded error ``L_tempCAE`` of eq. 7 as synthesis uses it:
the sum over every window of its squared error, divided by the video's pixel count ``C*T*H*W``
(the normalisation shared with the L2-norm prior; see :mod:`videogen3d.losses.synthesis`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import activation, check_geometry
from videogen3d.utils.video import frame_hw

__all__ = ["TempCAE", "clip_windows"]


def clip_windows(x: torch.Tensor, cs: int) -> torch.Tensor:
    """``(B, C, T, H, W)`` -> every window of ``cs`` consecutive frames, ``(B * (T - cs + 1), C, cs, H, W)``."""
    b, c, t, h, w = x.shape
    if not 1 <= cs <= t:
        raise ValueError(f"tempCAE window CS={cs} does not fit clips of T={t} frames (need 1 <= CS <= T)")
    win = x.unfold(2, cs, 1)  # (B, C, T-cs+1, H, W, cs)
    return win.permute(0, 2, 1, 5, 3, 4).reshape(b * (t - cs + 1), c, cs, h, w)


def _conv_norm_act(a: int, b: int, stride: int, norm: str, act: str, up: bool = False) -> nn.Sequential:
    """3x3 2D conv (or x2 transposed conv) -> norm -> activation, on the one-time-step code."""
    conv = (nn.ConvTranspose2d(a, b, 3, 2, 1, output_padding=1, bias=norm == "none") if up
            else nn.Conv2d(a, b, 3, stride, 1, bias=norm == "none"))
    norms = {"batch": lambda: nn.BatchNorm2d(b), "instance": lambda: nn.InstanceNorm2d(b, affine=True),
             "none": nn.Identity}
    if norm not in norms:
        raise ValueError(f"unknown norm {norm!r}; expected one of {sorted(norms)}")
    return nn.Sequential(conv, norms[norm](), activation(act))


class TempCAE(nn.Module):
    """``(B, C, CS, H, W)`` window -> its reconstruction, same shape, ``tanh`` output in [-1, 1].

    Eq. 4's 3D convolution spans all ``CS`` frames and is 'valid' in time, so it equals a 2D
    convolution over the window stacked as a ``C*CS``-channel image (the seed's "multi-channels
    image", Figure 2); the code has one time step, and every later layer is 2D. It is computed
    that way (2D convolutions are several times faster on a CPU than 3D ones over one time step).
    """

    def __init__(self, cs: int = 4, frame_size: int | Sequence[int] = (96, 128), in_channels: int = 3, *,
                 widths: Sequence[int] = (64, 128, 128), norm: str = "batch", act: str = "relu") -> None:
        super().__init__()
        h, w = frame_hw(frame_size)
        n_down = len(widths) - 1
        check_geometry(f"TempCAE({len(widths)} levels)", cs, (h, w), 1, 2 ** n_down)
        self.cs, self.frame_size, self.in_channels = int(cs), (h, w), int(in_channels)
        c = in_channels * cs
        # eq. 4: h = σ(x[i, CS] * W + b), W spanning the CS frames (valid in time, 'same' in space)
        enc: list[nn.Module] = [_conv_norm_act(c, widths[0], 1, norm, act)]
        enc += [_conv_norm_act(a, b, 2, norm, act) for a, b in zip(widths[:-1], widths[1:])]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [_conv_norm_act(a, b, 2, norm, act, up=True)
                                for a, b in zip(widths[::-1][:-1], widths[::-1][1:])]
        dec.append(nn.Conv2d(widths[0], c, 3, 1, 1))  # eq. 5: back to CS frames of C channels
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if (c, t, (h, w)) != (self.in_channels, self.cs, self.frame_size):
            raise ValueError(f"TempCAE(CS={self.cs}, {self.frame_size[1]}x{self.frame_size[0]}, C={self.in_channels}) "
                             f"got a window of shape {tuple(x.shape)}; expected (B, {self.in_channels}, {self.cs}, "
                             f"{self.frame_size[0]}, {self.frame_size[1]})")
        y = self.decoder(self.encoder(x.reshape(b, c * t, h, w)))  # (B, C*CS, H, W)
        return torch.tanh(y.view(b, c, t, h, w))

    def window_error(self, video: torch.Tensor) -> torch.Tensor:
        """Eq. 7 per video: mean over its ``T - CS + 1`` windows of the mean squared reconstruction error, ``(B,)``."""
        win = clip_windows(video, self.cs)  # (B*n, C, CS, H, W)
        err = (self(win) - win).pow(2).mean(dim=(1, 2, 3, 4))  # (B*n,)
        return err.view(video.shape[0], -1).mean(dim=1)

    def decoded_error(self, video: torch.Tensor, residual: bool = False) -> torch.Tensor:
        """Eq. 7 summed over the windows ``i`` of each video, divided by its pixel count ``C*T*H*W``: ``(B,)``.

        Interior pixels lie in ``CS`` windows, so per pixel this pulls ``CS`` times as hard as a
        mean over windows would; it is the literal ``sum_i ||tempCAE(X[i, CS]) - X[i, CS]||^2``
        on the same per-pixel scale as ``||X||^2 / (C*T*H*W)``.

        ``residual=True`` (ours, not the seed's) stops the gradient through the decoder: the
        pixel gradient is then ``2 sum_i (X[i, CS] - tempCAE(X[i, CS])) / P``, the pull toward the
        decoded video alone. For a denoising auto-encoder that residual estimates the direction
        toward the data (Alain & Bengio, 2014); the full gradient adds ``J^T`` of the decoder,
        which also moves the decoded video toward ``X``. The value is the same either way.
        """
        win = clip_windows(video, self.cs)
        dec = self(win)
        err = ((dec.detach() if residual else dec) - win).pow(2).sum(dim=(1, 2, 3, 4))
        return err.view(video.shape[0], -1).sum(dim=1) / video[0].numel()
