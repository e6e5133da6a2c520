"""Per-step transformations and extra priors of the improved synthesis method (ours, not the seed's).

- :func:`jitter`: transformation robustness (Olah et al. 2017, "Feature Visualization"): at every step
  the classifier sees the video randomly shifted in space and time and rescaled, one draw per video,
  so only features that survive small moves lower the loss (adversarial pixel patterns do not).
- :func:`total_variation`: mean absolute difference of neighbouring pixels (space and time).
- :func:`coarse_gradient`: the coarse phase of a coarse-to-fine schedule: the gradient averaged over
  ``factor x factor`` pixel blocks, i.e. gradient descent on a video of ``1/factor`` the resolution.
- :func:`normalise_gradient`: each video's gradient divided by its RMS (normalised gradient steps).
- :func:`multiply_blend`: layers over a white background composited into one video (white is transparent):
  a multi-label synthesis's layers, or real clips of one object each made into a two-object reference.
- :func:`spread_layers`: such layers moved apart (integer shifts) before they are composited.
- :func:`matte_layers`: such layers' faint ink (a decoder's haze and ghosts where white should be) made white.
- :func:`place_layers`: both, as a multi-label synthesis's output shows its layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["jitter", "total_variation", "coarse_gradient", "normalise_gradient", "multiply_blend", "ink_per_frame",
           "shift_layer", "to_side", "spread_layers", "matte_layers", "place_layers"]


def jitter(video: torch.Tensor, shift: float = 0.0, scale: float = 0.0, time_shift: float = 0.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """``video (N, C, T, H, W)`` resampled per video by a random affine map: translation of up to
    ``shift`` pixels in x and y, zoom by a factor in ``[1 - scale, 1 + scale]``, shift of up to
    ``time_shift`` frames; borders repeat the edge pixels. All zero: ``video`` itself."""
    if shift == 0 and scale == 0 and time_shift == 0:
        return video
    n, _, t, h, w = video.shape
    dev = video.device

    def u(lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
        return torch.rand(n, generator=generator).to(dev) * (hi - lo) + lo

    zoom = 1.0 + scale * u()
    theta = torch.zeros(n, 3, 4, device=dev)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / zoom
    theta[:, 2, 2] = 1.0
    theta[:, 0, 3] = shift * u() * 2 / w  # grid units: 2 per frame width
    theta[:, 1, 3] = shift * u() * 2 / h
    theta[:, 2, 3] = time_shift * u() * 2 / t
    grid = F.affine_grid(theta, list(video.shape), align_corners=False)
    return F.grid_sample(video, grid.to(video.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def total_variation(video: torch.Tensor) -> torch.Tensor:
    """Per video ``(N,)``: mean absolute difference between neighbours along H, W and T."""
    v = video.float()
    dh = (v[:, :, :, 1:] - v[:, :, :, :-1]).abs().mean(dim=(1, 2, 3, 4))
    dw = (v[..., 1:] - v[..., :-1]).abs().mean(dim=(1, 2, 3, 4))
    dt = (v[:, :, 1:] - v[:, :, :-1]).abs().mean(dim=(1, 2, 3, 4)) if v.shape[2] > 1 else torch.zeros_like(dh)
    return dh + dw + dt


def coarse_gradient(grad: torch.Tensor, factor: int) -> torch.Tensor:
    """``grad (N, C, T, H, W)`` averaged over ``factor x factor`` blocks of each frame (H, W divisible)."""
    if factor <= 1:
        return grad
    n, c, t, h, w = grad.shape
    if h % factor or w % factor:
        raise ValueError(f"coarse-to-fine factor={factor} must divide the frame size {w}x{h} (WxH)")
    g = F.avg_pool2d(grad.transpose(1, 2).reshape(n * t, c, h, w), factor)
    g = F.interpolate(g, scale_factor=factor, mode="nearest")
    return g.view(n, t, c, h, w).transpose(1, 2).contiguous()


def normalise_gradient(grad: torch.Tensor) -> torch.Tensor:
    """Each video's gradient divided by its root mean square (a step of ``lr`` moves a pixel by ~``lr``)."""
    rms = grad.flatten(1).pow(2).mean(dim=1).sqrt().clamp_min(1e-12)
    return grad / rms.view(-1, *([1] * (grad.dim() - 1)))


def multiply_blend(layers01: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """The product along ``dim`` of layers in [0, 1] (a multiply blend: white is transparent, so each object
    shows where it is alone and overlaps darken), as a video in [-1, 1]."""
    return layers01.prod(dim=dim) * 2 - 1


def matte_layers(layers01: torch.Tensor, threshold: float, dim: int = 1) -> torch.Tensor:
    """Layers in [0, 1] over white with every pixel whose ink (1 minus the mean along the channel dimension
    ``dim``) is below ``threshold`` made white in all channels: a hard matte, so that a layer's faint haze does
    not darken the other layers where they are multiply-blended (white is transparent); the rest is unchanged."""
    ink = 1 - layers01.mean(dim=dim, keepdim=True)
    return torch.where(ink < threshold, torch.ones_like(layers01), layers01)


def ink_per_frame(video01: torch.Tensor, floor: float = 0.0, dim: int = 1) -> torch.Tensor:
    """A video's ink in each frame: ``(..., C, T, H, W)`` in [0, 1] over white (channels at ``dim``) to
    ``(..., T)``, the sum over the frame's pixels of 1 minus their mean over channels, counting only pixels whose
    ink is at least ``floor`` (what :func:`matte_layers` at that threshold keeps). An object's size times its
    darkness: a real cpu-scale car_right carries about 36 per frame, a rocket about 16. Differentiable in the
    pixels above the floor."""
    ink = 1 - video01.mean(dim=dim)
    if floor > 0:
        ink = ink * (ink >= floor).to(ink.dtype)
    return ink.sum((-1, -2))


def shift_layer(layer01: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """A layer ``(..., H, W)`` in [0, 1] over white, moved ``dy`` pixels down and ``dx`` right; what leaves
    the frame is lost and what comes in is white (1)."""
    h, w = layer01.shape[-2:]
    out = torch.ones_like(layer01)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        layer01[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def to_side(layers01: torch.Tensor, side: str, floor: float = 0.05) -> torch.Tensor:
    """Layers ``(N, C, T, H, W)`` in [0, 1] over white, each moved sideways (:func:`shift_layer`, the same shift in
    every frame) until its ink touches the frame's ``"left"`` or ``"right"`` edge: its leftmost (rightmost) column
    with ink above ``floor`` in any frame becomes the first (last) column. A layer without such ink stays."""
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r}: expected 'left' or 'right'")
    w = layers01.shape[-1]
    out = []
    for layer in layers01:
        cols = ((1 - layer.float().mean(0)).amax(dim=(0, 1)) > floor).nonzero().flatten()
        dx = 0 if not len(cols) else (-int(cols[0]) if side == "left" else w - 1 - int(cols[-1]))
        out.append(shift_layer(layer, 0, dx))
    return torch.stack(out) if out else layers01.clone()


def spread_layers(layers01: torch.Tensor, max_shift: tuple[int, int]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Layers ``(L, C, T, H, W)`` in [0, 1] over white, placed apart: the first stays; each next one is moved
    (:func:`shift_layer`, the same shift in every frame) by the ``(dy, dx)`` with ``|dy| <= max_shift[0]`` and
    ``|dx| <= max_shift[1]`` that minimises the overlap of its ink with the ink of the layers placed before it,
    summed over the frames, plus the ink that the shift moves out of the frame; of equal costs, the smallest
    shift (so a layer that overlaps nothing stays). Ink: 1 minus the mean over channels (0 on white).
    Returns the moved layers and each layer's shift (``(0, 0)`` for the first)."""
    my, mx = (max(0, int(v)) for v in max_shift)
    ink = 1 - layers01.float().mean(1)  # (L, T, H, W)
    placed = ink[0].clone()
    out, shifts = [layers01[0]], [(0, 0)]
    frame = torch.ones_like(placed)
    dy, dx = torch.meshgrid(torch.arange(-my, my + 1), torch.arange(-mx, mx + 1), indexing="ij")
    size = (dy.pow(2) + dx.pow(2)).flatten().to(ink.dtype)
    for layer, a in zip(layers01[1:], ink[1:]):
        # cross-correlation over (dy, dx), frames as channels: [i, j] = sum_t,y,x a[t,y,x] * P[t, y+dy, x+dx]
        pad = (mx, mx, my, my)
        overlap = F.conv2d(F.pad(placed, pad)[None], a[None])[0, 0]
        kept = F.conv2d(F.pad(frame, pad)[None], a[None])[0, 0]
        cost = (overlap + a.sum() - kept).flatten()
        best = cost.min()
        tie = cost <= best + 1e-6 * (1 + best.abs())
        k = int(torch.where(tie, size, torch.full_like(size, float("inf"))).argmin())
        s = (int(dy.flatten()[k]), int(dx.flatten()[k]))
        moved = shift_layer(layer, *s)
        out.append(moved)
        shifts.append(s)
        placed = placed + (1 - moved.float().mean(0))
    return torch.stack(out), shifts


def place_layers(layers01: torch.Tensor, matte: float, max_shift: tuple[int, int]
                 ) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """One video's layers ``(L, C, T, H, W)`` in [0, 1] over white as its output shows them. Layers synthesised one
    per label are drawn where each one's code puts its object, often the same place, and a decoded layer is not pure
    white where it has no object (a faint haze, ghosts of other objects), which the multiply blend lays over the other
    objects. So each layer's ink below ``matte`` is made white first (:func:`matte_layers`; ``0``: none), then the
    layers are placed apart (:func:`spread_layers`, shifts up to ``max_shift``; ``(0, 0)``: none), their content
    otherwise unchanged. Returns the layers and each one's shift."""
    if matte > 0:
        layers01 = matte_layers(layers01, matte)
    return spread_layers(layers01, max_shift)
