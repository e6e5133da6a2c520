"""Vectorised 2D rasterising with signed distance fields (torch; no loop over pixels).

A shape is a signed distance field over a batch of frames ``(T, h, w)`` (negative inside,
in pixels), computed only on the region its points can reach in those frames. Painting
blends it onto the canvas with an anti-aliased one-pixel edge; shaded paint treats the shape
as a rounded solid (a cylinder across a capsule, a sphere at a disc) lit from the top left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

LIGHT = torch.tensor([-0.45, -0.6, 0.66])  # towards the light: from the top left, in front
LIGHT = LIGHT / LIGHT.norm()
HALF = (LIGHT + torch.tensor([0.0, 0.0, 1.0])) / (LIGHT + torch.tensor([0.0, 0.0, 1.0])).norm()


@dataclass(frozen=True)
class Material:
    """Base colour (RGB in [0, 1]) and how it is shaded."""

    rgb: tuple[float, float, float]
    ambient: float = 0.55
    diffuse: float = 0.5
    specular: float = 0.25
    shininess: float = 18.0
    outline: float = 0.45  # outline colour = rgb * outline


@dataclass
class Region:
    """A rectangle of the canvas and its pixel centres as broadcastable tensors."""

    y0: int
    y1: int
    x0: int
    x1: int
    py: torch.Tensor  # (1, h, 1)
    px: torch.Tensor  # (1, 1, w)


class Canvas:
    """``T`` frames of ``H x W`` RGB floats, ``(3, T, H, W)``, on one background colour."""

    def __init__(self, t: int, h: int, w: int, background: tuple[float, float, float]):
        self.t, self.h, self.w = t, h, w
        self.img = torch.tensor(background, dtype=torch.float32).view(3, 1, 1, 1).repeat(1, t, h, w)
        self.scale = h / 64.0  # line widths are tuned at 64 px and scale with the frame

    def region(self, pts: np.ndarray, pad: float) -> Region | None:
        """The rectangle that ``pts (T, K, 2)`` reach in any frame, grown by ``pad`` pixels."""
        lo, hi = pts.reshape(-1, 2).min(0) - pad - 1, pts.reshape(-1, 2).max(0) + pad + 1
        x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
        x1, y1 = min(int(np.ceil(hi[0])), self.w), min(int(np.ceil(hi[1])), self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        py = (torch.arange(y0, y1, dtype=torch.float32) + 0.5).view(1, -1, 1)
        px = (torch.arange(x0, x1, dtype=torch.float32) + 0.5).view(1, 1, -1)
        return Region(y0, y1, x0, x1, py, px)

    def _view(self, reg: Region) -> torch.Tensor:
        return self.img[:, :, reg.y0 : reg.y1, reg.x0 : reg.x1]

    def paint_flat(self, reg: Region, sdf: torch.Tensor, rgb) -> None:
        """Blend a flat colour where ``sdf < 0``."""
        alpha = (0.5 - sdf).clamp_(0.0, 1.0)
        view = self._view(reg)
        for c in range(3):
            view[c].add_(alpha * (rgb[c] - view[c]))

    def paint_shaded(self, reg: Region, sdf: torch.Tensor, nx: torch.Tensor, ny: torch.Tensor, mat: Material) -> None:
        """Blend a lit rounded solid; ``(nx, ny)`` is the surface normal's in-plane part (length <= 1)."""
        nz = (1.0 - nx * nx - ny * ny).clamp_(min=0.0).sqrt_()
        diffuse = (nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2]).clamp_(min=0.0)
        spec = (nx * HALF[0] + ny * HALF[1] + nz * HALF[2]).clamp_(min=0.0).pow_(mat.shininess).mul_(mat.specular)
        shade = diffuse.mul_(mat.diffuse).add_(mat.ambient)
        edge = (-sdf / (0.9 * self.scale)).clamp_(0.0, 1.0)  # 0 on the rim (outline), 1 inside
        alpha = (0.5 - sdf).clamp_(0.0, 1.0)
        view = self._view(reg)
        for c in range(3):
            rim = mat.rgb[c] * mat.outline
            col = (shade * mat.rgb[c] + spec - rim) * edge + rim
            view[c].add_(alpha * (col.clamp_(0.0, 1.0) - view[c]))

    def to_uint8(self) -> torch.Tensor:
        """``uint8 (T, H, W, 3)``."""
        return (self.img * 255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 3, 0).contiguous()


def _pt(p: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, 2)`` points -> x, y as ``(T, 1, 1)`` tensors."""
    p = torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32))
    return p[:, 0].view(-1, 1, 1), p[:, 1].view(-1, 1, 1)


def segment(reg: Region, a: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distance from every pixel to the segment ``a b`` (``(T, 2)`` each) and the vector from its closest point."""
    ax, ay = _pt(a)
    bx, by = _pt(b)
    dx, dy = bx - ax, by - ay
    rx, ry = reg.px - ax, reg.py - ay  # (T, 1, w), (T, h, 1)
    t = ((rx * dx + ry * dy) / (dx * dx + dy * dy + 1e-6)).clamp_(0.0, 1.0)
    vx, vy = rx - t * dx, ry - t * dy
    return (vx * vx + vy * vy).sqrt_(), vx, vy


def capsule(reg: Region, a: np.ndarray, b: np.ndarray, r: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A capsule of radius ``r`` around segment ``a b``: ``sdf`` and the normal's in-plane part."""
    d, vx, vy = segment(reg, a, b)
    return d - r, vx / r, vy / r


def polygon(reg: Region, verts: np.ndarray) -> torch.Tensor:
    """Exact signed distance to a convex polygon ``verts (T, K, 2)`` (either winding)."""
    k = verts.shape[1]
    dist, side = None, []
    for i in range(k):  # a handful of edges, each a whole-frame tensor op
        a, b = verts[:, i], verts[:, (i + 1) % k]
        d, _, _ = segment(reg, a, b)
        dist = d if dist is None else torch.minimum(dist, d)
        ax, ay = _pt(a)
        bx, by = _pt(b)
        side.append((bx - ax) * (reg.py - ay) - (by - ay) * (reg.px - ax))
    side = torch.stack(side)
    inside = (side >= 0).all(0) | (side <= 0).all(0)
    return torch.where(inside, -dist, dist)


def halfplane(reg: Region, p: np.ndarray, n: np.ndarray) -> torch.Tensor:
    """Signed distance to the line through ``p`` with unit normal ``n`` (positive on ``n``'s side)."""
    px, py = _pt(p)
    nx, ny = _pt(n)
    return (reg.px - px) * nx + (reg.py - py) * ny


def across(reg: Region, p: np.ndarray, axis: np.ndarray, half_width: float) -> tuple[torch.Tensor, torch.Tensor]:
    """In-plane normal of a cylinder along ``axis`` (unit, ``(T, 2)``) through ``p``: for flat-ish bodies."""
    px, py = _pt(p)
    ax, ay = _pt(axis)
    u = (((reg.px - px) * -ay + (reg.py - py) * ax) / half_width).clamp_(-1.0, 1.0)  # across the axis
    return u * -ay, u * ax
