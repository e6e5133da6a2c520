"""Procedural sprites for the moving-objects dataset (seed 003, §4.1 and Figure 4).

The seed shows simple drawings of a car, rocket, airplane, ship, bicycle and balloon on a
white background; it publishes no files, so these drawings are ours. Each sprite is a few
Pillow primitives in a unit box, drawn 4x larger and box-filtered down (anti-aliased edges,
which give the pixel-space synthesis smooth gradients), in its *canonical* heading: horizontal
movers face right, vertical movers point up. The dataset mirrors a sprite for the opposite
direction.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["SPRITES", "draw_sprite", "random_colour"]

_SUPERSAMPLE = 4
Colour = tuple[int, int, int]

# the box of each sprite in units of its height-scale ``s`` (width, height)
SPRITES: dict[str, tuple[float, float]] = {
    "car": (2.0, 1.0),
    "rocket": (0.5, 1.6),
    "airplane": (1.2, 1.4),
    "ship": (2.0, 1.0),
    "bicycle": (1.8, 1.0),
    "balloon": (1.0, 1.5),
}

_DARK: Colour = (40, 40, 48)
_GLASS: Colour = (150, 200, 235)
_FLAME: Colour = (250, 150, 30)
_WOOD: Colour = (120, 80, 40)


def random_colour(rng: np.random.Generator) -> Colour:
    """A saturated, not-too-light body colour (never close to the white background)."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0.55, 1.0), rng.uniform(0.45, 0.9)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def _shade(c: Colour, f: float) -> Colour:
    return tuple(int(min(255, max(0, round(v * f)))) for v in c)  # type: ignore[return-value]


def _draw(kind: str, d: ImageDraw.ImageDraw, u: float, body: Colour) -> None:
    """Draw ``kind`` with unit ``u`` (pixels per box unit) on ``d``."""

    def P(*pts: float) -> list[tuple[float, float]]:
        return [(pts[i] * u, pts[i + 1] * u) for i in range(0, len(pts), 2)]

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * u, y0 * u, x1 * u, y1 * u]

    lw = max(1, int(round(0.09 * u)))
    if kind == "car":
        d.polygon(P(0.4, 0.47, 0.65, 0.1, 1.35, 0.1, 1.7, 0.47), fill=body)
        d.rectangle(box(0.0, 0.45, 2.0, 0.8), fill=body)
        d.polygon(P(0.72, 0.42, 0.85, 0.18, 1.3, 0.18, 1.5, 0.42), fill=_GLASS)
        d.rectangle(box(1.88, 0.5, 2.0, 0.6), fill=(250, 220, 60))
        for cx in (0.5, 1.5):
            d.ellipse(box(cx - 0.2, 0.6, cx + 0.2, 1.0), fill=_DARK)
    elif kind == "ship":
        d.polygon(P(0.0, 0.58, 2.0, 0.5, 1.65, 1.0, 0.2, 1.0), fill=body)
        d.rectangle(box(0.55, 0.3, 1.3, 0.6), fill=(235, 235, 235), outline=_DARK)
        d.rectangle(box(0.85, 0.05, 1.1, 0.3), fill=_shade(body, 0.6))
        d.line(P(0.0, 0.75, 1.8, 0.75), fill=_shade(body, 0.5), width=lw)
    elif kind == "bicycle":
        for cx in (0.4, 1.4):
            d.ellipse(box(cx - 0.36, 0.26, cx + 0.36, 0.98), outline=_DARK, width=lw)
        d.line(P(0.4, 0.62, 0.8, 0.28, 1.3, 0.28, 1.4, 0.62), fill=body, width=lw, joint="curve")
        d.line(P(0.4, 0.62, 0.9, 0.62, 0.8, 0.28), fill=body, width=lw)
        d.line(P(0.9, 0.62, 1.3, 0.28), fill=body, width=lw)
        d.line(P(1.3, 0.28, 1.38, 0.05, 1.55, 0.05), fill=_DARK, width=lw)
        d.rectangle(box(0.65, 0.16, 0.92, 0.24), fill=_DARK)
    elif kind == "rocket":
        d.rectangle(box(0.1, 0.4, 0.4, 1.3), fill=body)
        d.polygon(P(0.1, 0.42, 0.25, 0.0, 0.4, 0.42), fill=_shade(body, 0.55))
        d.polygon(P(0.1, 0.95, 0.0, 1.35, 0.1, 1.3), fill=_shade(body, 0.55))
        d.polygon(P(0.4, 0.95, 0.5, 1.35, 0.4, 1.3), fill=_shade(body, 0.55))
        d.ellipse(box(0.17, 0.55, 0.33, 0.71), fill=_GLASS)
        d.polygon(P(0.14, 1.3, 0.25, 1.6, 0.36, 1.3), fill=_FLAME)
    elif kind == "airplane":
        d.polygon(P(0.0, 0.72, 0.55, 0.45, 0.65, 0.45, 1.2, 0.72, 1.2, 0.82, 0.0, 0.82), fill=body)
        d.polygon(P(0.3, 1.28, 0.55, 1.12, 0.65, 1.12, 0.9, 1.28, 0.9, 1.38, 0.3, 1.38), fill=body)
        d.ellipse(box(0.48, 0.0, 0.72, 1.4), fill=_shade(body, 0.75))
        d.ellipse(box(0.53, 0.1, 0.67, 0.3), fill=_GLASS)
    elif kind == "balloon":
        d.line(P(0.22, 0.85, 0.4, 1.25), fill=_DARK, width=max(1, lw // 2))
        d.line(P(0.78, 0.85, 0.6, 1.25), fill=_DARK, width=max(1, lw // 2))
        d.ellipse(box(0.0, 0.0, 1.0, 1.0), fill=body)
        d.ellipse(box(0.33, 0.0, 0.67, 1.0), fill=_shade(body, 1.35))
        d.rectangle(box(0.38, 1.25, 0.62, 1.45), fill=_WOOD)
    else:
        raise ValueError(f"unknown sprite {kind!r}; expected one of {sorted(SPRITES)}")


def draw_sprite(kind: str, scale_px: float, body: Colour, *, mirror_x: bool = False,
                mirror_y: bool = False) -> np.ndarray:
    """Render ``kind`` at ``scale_px`` pixels per unit: float32 RGBA ``(h, w, 4)`` in [0, 1].

    ``mirror_x`` turns a right-facing sprite to face left, ``mirror_y`` turns an up-pointing
    sprite to point down.
    """
    bw, bh = SPRITES[kind]
    w, h = max(2, int(round(bw * scale_px))), max(2, int(round(bh * scale_px)))
    u = _SUPERSAMPLE * h / bh  # pixels per unit on the supersampled canvas
    img = Image.new("RGBA", (w * _SUPERSAMPLE, h * _SUPERSAMPLE), (255, 255, 255, 0))
    _draw(kind, ImageDraw.Draw(img), u, body)
    img = img.resize((w, h), Image.Resampling.BOX)
    if mirror_x:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if mirror_y:
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return np.asarray(img, dtype=np.float32) / 255.0
