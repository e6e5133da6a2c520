"""tempCAE: the temporal convolutional auto-encoder of seed 003 (§3.4, eqs. 4-5, Figure 2).

``CS`` ("concatenated size") consecutive frames ``x[i, CS]`` form one multi-channel input. The
encoder's first layer is a 3D convolution whose temporal kernel spans all ``CS`` frames with no
temporal padding (eq. 4: ``h = σ(x[i, CS] * W + b)``), so the code has one time step, as in the
seed's "multi-channels image"; further encoder layers down-sample in space. The decoder
up-samples back and its last layer emits ``C * CS`` channels, reshaped to the ``CS`` frames
(eq. 5). Widths, depth and norms are not given by the seed; ours are ``widths`` (one encoder
level each, each after the first halving H and W).

:meth:`TempCAE.window_error` applies the network to every window ``i .. i+CS-1`` of a clip
(``T - CS + 1`` windows), which is the decoded error ``L_tempCAE`` of eq. 7.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from videogen3d.models.blocks import ConvNormAct, activation, check_geometry, norm_layer

__all__ = ["TempCAE", "clip_windows"]


def clip_windows(x: torch.Tensor, cs: int) -> torch.Tensor:
    """``(B, C, T, H, W)`` -> every window of ``cs`` consecutive frames, ``(B * (T - cs + 1), C, cs, H, W)``."""
    b, c, t, h, w = x.shape
    if not 1 <= cs <= t:
        raise ValueError(f"tempCAE window CS={cs} does not fit clips of T={t} frames (need 1 <= CS <= T)")
    win = x.unfold(2, cs, 1)  # (B, C, T-cs+1, H, W, cs)
    return win.permute(0, 2, 1, 5, 3, 4).reshape(b * (t - cs + 1), c, cs, h, w)


class TempCAE(nn.Module):
    """``(B, C, CS, H, W)`` window -> its reconstruction, same shape, ``tanh`` output in [-1, 1]."""

    def __init__(self, cs: int = 4, frame_size: int | Sequence[int] = (96, 128), in_channels: int = 3, *,
                 widths: Sequence[int] = (64, 128, 128), norm: str = "batch", act: str = "relu") -> None:
        super().__init__()
        h, w = (frame_size, frame_size) if isinstance(frame_size, int) else (int(frame_size[0]), int(frame_size[1]))
        n_down = len(widths) - 1
        check_geometry(f"TempCAE({len(widths)} levels)", cs, (h, w), 1, 2 ** n_down)
        self.cs, self.frame_size, self.in_channels = int(cs), (h, w), int(in_channels)
        # eq. 4: one 3D conv over the whole CS-frame window (valid in time, 'same' in space)
        enc: list[nn.Module] = [nn.Sequential(
            nn.Conv3d(in_channels, widths[0], (cs, 3, 3), padding=(0, 1, 1), bias=norm == "none"),
            norm_layer(norm, widths[0]), activation(act))]
        for a, b in zip(widths[:-1], widths[1:]):
            enc.append(ConvNormAct(a, b, (1, 3, 3), (1, 2, 2), norm=norm, act=act))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for a, b in zip(widths[::-1][:-1], widths[::-1][1:]):
            dec.append(ConvNormAct(a, b, (1, 3, 3), (1, 2, 2), norm=norm, act=act, transposed=True))
        # eq. 5: back to CS frames of C channels
        dec.append(nn.Conv3d(widths[0], in_channels * cs, (1, 3, 3), padding=(0, 1, 1)))
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if (c, t, (h, w)) != (self.in_channels, self.cs, self.frame_size):
            raise ValueError(f"TempCAE(CS={self.cs}, {self.frame_size[1]}x{self.frame_size[0]}, C={self.in_channels}) "
                             f"got a window of shape {tuple(x.shape)}; expected (B, {self.in_channels}, {self.cs}, "
                             f"{self.frame_size[0]}, {self.frame_size[1]})")
        y = self.decoder(self.encoder(x))  # (B, C*CS, 1, H, W)
        return torch.tanh(y.view(b, c, t, h, w))

    def window_error(self, video: torch.Tensor) -> torch.Tensor:
        """Eq. 7 per video: mean over its ``T - CS + 1`` windows of the mean squared reconstruction error, ``(B,)``."""
        win = clip_windows(video, self.cs)  # (B*n, C, CS, H, W)
        err = (self(win) - win).pow(2).mean(dim=(1, 2, 3, 4))  # (B*n,)
        return err.view(video.shape[0], -1).mean(dim=1)
