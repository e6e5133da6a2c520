"""Render styles of the dancer: the stick figure (condition) and two costumes of one puppet.

The seed's Stick-to-Miku and Miku-to-Miku data (seed 000, section 5.1) show one character in
two dressing styles and a stickman performing the same dances; ``stick``, ``puppet_a`` and
``puppet_b`` stand in for them. Every style uses the same background, and a costume never
changes over a sequence or between sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from videogen3d.data.render import raster
from videogen3d.data.render.raster import Canvas, Material
from videogen3d.data.render.skeleton import BODY, BONES, J

BACKGROUND = (0.93, 0.93, 0.92)


@dataclass(frozen=True)
class Costume:
    """Materials of every body part; ``skirt=None`` means trousers (``legs_*`` cover the legs)."""

    hair: Material
    skin: Material
    top: Material
    upper_arm: Material
    forearm: Material
    thigh: Material
    shin: Material
    shoes: Material
    skirt: Material | None = None
    twin_tails: bool = True
    leg_scale: float = 1.0  # trousers are wider than bare legs


SKIN = Material((1.0, 0.86, 0.76), ambient=0.68, diffuse=0.38, specular=0.12)
HAIR = Material((0.2, 0.74, 0.72), specular=0.35, shininess=30)
COSTUMES = {
    # dark skirt, grey top, black boots and detached sleeves: the "electric" dress
    "puppet_a": Costume(
        hair=HAIR, skin=SKIN, top=Material((0.74, 0.77, 0.8)), upper_arm=SKIN,
        forearm=Material((0.2, 0.22, 0.26)), thigh=SKIN, shin=Material((0.12, 0.12, 0.14), specular=0.4),
        shoes=Material((0.12, 0.12, 0.14), specular=0.4), skirt=Material((0.22, 0.24, 0.3)),
    ),
    # red long-sleeved jacket, navy trousers, white shoes, hair tied in a bun
    "puppet_b": Costume(
        hair=HAIR, skin=SKIN, top=Material((0.85, 0.2, 0.2)), upper_arm=Material((0.85, 0.2, 0.2)),
        forearm=Material((0.85, 0.2, 0.2)), thigh=Material((0.16, 0.2, 0.45)), shin=Material((0.16, 0.2, 0.45)),
        shoes=Material((0.97, 0.97, 0.95)), twin_tails=False, leg_scale=1.3,
    ),
}  # fmt: skip
STYLES = ("stick", *COSTUMES)


def render(style: str, joints: np.ndarray, height: int, width: int | None = None) -> torch.Tensor:
    """Frames of one style for ``joints (T, J, 2)`` in pixels: ``uint8 (T, H, W, 3)``."""
    width = width or height
    canvas = Canvas(len(joints), height, width, BACKGROUND)
    if style == "stick":
        _stick(canvas, joints)
    elif style in COSTUMES:
        _puppet(canvas, joints, COSTUMES[style])
    else:
        raise ValueError(f"unknown render style {style!r}; expected one of {STYLES}")
    return canvas.to_uint8()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-6)


def _stick(canvas: Canvas, joints: np.ndarray) -> None:
    """Dark bones, a ring for the head, joints as dots: red on the figure's left, blue on its right."""
    h = canvas.h
    line, dot = max(0.011 * h, 0.65), max(0.021 * h, 1.1)
    for a, b in BONES:
        pa, pb = joints[:, J[a]], joints[:, J[b]]
        if a == "neck" and b == "head":  # stop at the head ring
            pb = pa + (pb - pa) * (BODY["neck"] / (BODY["neck"] + BODY["head_r"]))
        reg = canvas.region(np.stack([pa, pb], 1), line)
        if reg is not None:
            canvas.paint_flat(reg, raster.segment(reg, pa, pb)[0] - line, (0.15, 0.15, 0.15))
    head, r = joints[:, J["head"]], BODY["head_r"] * h
    reg = canvas.region(head[:, None], r + line)
    if reg is not None:
        canvas.paint_flat(reg, (raster.segment(reg, head, head)[0] - r).abs_() - line, (0.15, 0.15, 0.15))
    for name, j in J.items():
        if name == "head":
            continue
        colour = {"_l": (0.85, 0.15, 0.1), "_r": (0.1, 0.3, 0.9)}.get(name[-2:], (0.1, 0.1, 0.1))
        reg = canvas.region(joints[:, j][:, None], dot)
        if reg is not None:
            canvas.paint_flat(reg, raster.segment(reg, joints[:, j], joints[:, j])[0] - dot, colour)


def _capsule(canvas: Canvas, a: np.ndarray, b: np.ndarray, r: float, mat: Material) -> None:
    reg = canvas.region(np.stack([a, b], 1), r)
    if reg is not None:
        canvas.paint_shaded(reg, *raster.capsule(reg, a, b, r), mat)


def _polygon(
    canvas: Canvas, verts: np.ndarray, round_r: float, centre: np.ndarray, axis: np.ndarray, half_w: float,
    mat: Material,
) -> None:
    """A convex polygon with rounded corners, shaded as a cylinder along ``axis``."""
    reg = canvas.region(verts, round_r)
    if reg is not None:
        sdf = raster.polygon(reg, verts) - round_r
        canvas.paint_shaded(reg, sdf, *raster.across(reg, centre, axis, half_w), mat)


def _puppet(canvas: Canvas, jt: np.ndarray, c: Costume) -> None:
    """Back to front: hair tails, legs, skirt, neck, torso, arms, head."""
    h = canvas.h
    p = {name: jt[:, j].astype(np.float64) for name, j in J.items()}
    up = _unit(p["neck"] - p["pelvis"])  # (T, 2) along the spine
    side = np.stack([-up[:, 1], up[:, 0]], -1)  # the figure's left -> right
    head_up = _unit(p["head"] - p["neck"])
    head_side = np.stack([-head_up[:, 1], head_up[:, 0]], -1)
    r_head = BODY["head_r"] * h

    if c.twin_tails:  # swing against the head's tilt
        tilt = np.arctan2(head_up[:, 0], -head_up[:, 1])
        for s in (-1.0, 1.0):
            root = p["head"] + s * 0.85 * r_head * head_side + 0.35 * r_head * head_up
            ang = 0.3 - s * 0.8 * tilt
            end = root + 0.24 * h * np.stack([s * np.sin(ang), np.cos(ang)], -1)
            _capsule(canvas, root, end, 0.028 * h, c.hair)
    for s in "lr":
        leg = c.leg_scale
        _capsule(canvas, p[f"hip_{s}"], p[f"knee_{s}"], 0.034 * h * leg, c.thigh)
        _capsule(canvas, p[f"knee_{s}"], p[f"ankle_{s}"], 0.029 * h * (leg if c.skirt is None else 1.1), c.shin)
        toe = p[f"ankle_{s}"] + np.array([(-1.0 if s == "l" else 1.0) * 0.035 * h, 0.012 * h])
        _capsule(canvas, p[f"ankle_{s}"], toe, 0.022 * h, c.shoes)
    if c.skirt is not None:
        waist, hem = p["pelvis"] + 0.05 * h * up, p["pelvis"] - 0.12 * h * up
        top, bottom = 0.07 * h * side, 0.14 * h * side
        verts = np.stack([waist - top, waist + top, hem + bottom, hem - bottom], 1)
        _polygon(canvas, verts, 0.01 * h, p["pelvis"], up, 0.14 * h, c.skirt)
    _capsule(canvas, p["neck"], p["neck"] + 0.5 * (p["head"] - p["neck"]), 0.02 * h, c.skin)
    top, low = p["neck"] - 0.02 * h * up, p["pelvis"] + (0.02 if c.skirt is not None else -0.01) * h * up
    hw_top, hw_low = (BODY["shoulder_w"] + 0.005) * h, (BODY["hip_w"] + 0.012) * h
    verts = np.stack([top - hw_top * side, top + hw_top * side, low + hw_low * side, low - hw_low * side], 1)
    _polygon(canvas, verts, 0.022 * h, p["pelvis"], up, hw_top + 0.02 * h, c.top)
    for s in "lr":
        _capsule(canvas, p[f"shoulder_{s}"], p[f"elbow_{s}"], 0.025 * h, c.upper_arm)
        _capsule(canvas, p[f"elbow_{s}"], p[f"wrist_{s}"], 0.022 * h, c.forearm)
        _capsule(canvas, p[f"wrist_{s}"], p[f"wrist_{s}"], 0.022 * h, c.skin)
    _head(canvas, p["head"], head_up, head_side, r_head, c)


def _head(canvas: Canvas, centre: np.ndarray, up: np.ndarray, side: np.ndarray, r: float, c: Costume) -> None:
    """Hair (and a bun for costumes without tails), a face below the fringe, two eyes."""
    if not c.twin_tails:
        bun = centre + 1.0 * r * up
        _capsule(canvas, bun, bun, 0.55 * r, c.hair)
    _capsule(canvas, centre, centre, 1.12 * r, c.hair)
    reg = canvas.region(centre[:, None], r)
    if reg is None:
        return
    sdf, nx, ny = raster.capsule(reg, centre, centre, r)
    fringe = raster.halfplane(reg, centre + 0.15 * r * up, up)  # > 0 above the fringe line
    canvas.paint_shaded(reg, torch.maximum(sdf, fringe), nx, ny, c.skin)
    for s in (-1.0, 1.0):
        eye = centre + 0.38 * r * s * side - 0.22 * r * up
        reg = canvas.region(eye[:, None], 0.16 * r)
        if reg is not None:
            canvas.paint_flat(reg, raster.segment(reg, eye, eye)[0] - max(0.16 * r, 0.6), (0.12, 0.25, 0.3))
