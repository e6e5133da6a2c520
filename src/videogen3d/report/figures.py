"""The report's two figures, drawn with Pillow (no plotting library needed on a laptop or in CI).

- ``score.png``: the score per trial as horizontal bars, grouped by family (A translators, B GANs),
  best first within a family, in seed 000 §7's style ("Score (low is better)"); failed or
  unfinished runs keep their row, with their status written where the bar would be.
- ``contact_sheet.png``: one row per run: condition, generated, target at the middle frame of one
  validation clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from videogen3d.utils.io import atomic_path
from videogen3d.utils.video import unit_to_uint8

FAMILY_COLOURS = {"A": (76, 114, 176), "B": (221, 132, 82), "other": (85, 168, 104)}
FAMILY_NAMES = {"A": "A: translators (MSE)", "B": "B: conditional GANs", "other": "other runs"}
_FONT = ImageFont.load_default()


def _label(row: dict[str, Any]) -> str:
    disc = f"+{row['disc']}" if row.get("disc") not in (None, "", "none") else ""
    return f"{row['experiment_id']}  {row.get('generator', '')}{disc}"


def ordered_rows(rows: list[dict[str, Any]], score: str = "val_mse") -> list[dict[str, Any]]:
    """Rows grouped by family (A, B, other), best score first, runs without a score last."""
    out: list[dict[str, Any]] = []
    for fam in ("A", "B", "other"):
        fam_rows = [r for r in rows if r["family"] == fam]
        out += sorted(fam_rows, key=lambda r: (r.get(score) is None, r.get(score) or 0.0))
    return out


def score_figure(rows: list[dict[str, Any]], path: Path, score: str = "val_mse") -> Path:
    """Horizontal bars, one per run (see the module docstring)."""
    ordered = ordered_rows(rows, score)
    row_h, label_w, bar_w, pad = 16, 190, 330, 8
    fams = list(dict.fromkeys(r["family"] for r in ordered))
    height = pad * 2 + 20 + row_h * len(ordered) + 14 * len(fams) + 24
    img = Image.new("RGB", (label_w + bar_w + 120, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad), f"Score: {score.replace('_', ' ')} on the validation split (low is better)",
              fill="black", font=_FONT)
    values = [r.get(score) for r in ordered if r.get(score) is not None]
    top = max(values) if values else 1.0
    y, fam = pad + 22, None
    for r in ordered:
        if r["family"] != fam:
            fam = r["family"]
            draw.text((pad, y), FAMILY_NAMES[fam], fill=FAMILY_COLOURS[fam], font=_FONT)
            y += 14
        draw.text((pad + 6, y + 2), _label(r)[:30], fill="black", font=_FONT)
        s = r.get(score)
        if s is None:
            draw.text((label_w, y + 2), r["status"], fill=(200, 30, 30), font=_FONT)
        else:
            w = max(1, int(bar_w * s / top))
            box = (label_w, y + 2, label_w + w, y + row_h - 2)
            if r["status"] == "finished":
                draw.rectangle(box, fill=FAMILY_COLOURS[fam])
            else:  # an unfinished run's last value: outlined, not filled
                draw.rectangle(box, outline=FAMILY_COLOURS[fam], width=2)
            note = "" if r["status"] == "finished" else f" ({r['status']})"
            draw.text((label_w + w + 4, y + 2), f"{s:.4f}{note}", fill="black", font=_FONT)
        y += row_h
    draw.line((label_w, pad + 20, label_w, y), fill="grey")
    with atomic_path(path) as tmp:
        img.save(tmp)
    return path


def to_uint8(frame) -> np.ndarray:
    """A ``(3, H, W)`` tensor in [-1, 1] -> ``(H, W, 3)`` uint8."""
    return unit_to_uint8(frame.permute(1, 2, 0)).cpu().numpy()


def contact_sheet(rows: list[dict[str, Any]], clips: dict[str, dict], path: Path, clip: int = 0,
                  tile: int = 96) -> Path:
    """One row per run: condition | generated | target (middle frame of validation clip ``clip``)."""
    label_w, gap, head = 150, 4, 16
    img = Image.new("RGB", (label_w + 3 * (tile + gap), head + len(rows) * (tile + gap)), "white")
    draw = ImageDraw.Draw(img)
    for j, name in enumerate(("condition", "generated", "target")):
        draw.text((label_w + j * (tile + gap) + 4, 2), name, fill="black", font=_FONT)
    for i, row in enumerate(rows):
        y = head + i * (tile + gap)
        draw.text((4, y + tile // 2 - 12), _label(row)[:24], fill="black", font=_FONT)
        draw.text((4, y + tile // 2), row["status"], fill="grey" if row["status"] == "finished" else (200, 30, 30),
                  font=_FONT)
        got = clips.get(row["path"])
        if got is None:
            draw.text((label_w + tile + gap + 4, y + tile // 2), "no clip", fill=(200, 30, 30), font=_FONT)
            continue
        for j, key in enumerate(("cond", "fake", "target")):
            video = got[key][clip]  # (3, T, H, W)
            frame = Image.fromarray(to_uint8(video[:, video.shape[1] // 2])).resize((tile, tile), Image.NEAREST)
            img.paste(frame, (label_w + j * (tile + gap), y))
    with atomic_path(path) as tmp:
        img.save(tmp)
    return path


# one colour per run within a figure (colour-blind-safe "tab10"-like set)
_LINE_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def history_figure(histories: dict[str, list[tuple[float, float]]], path: Path, score: str = "val_mse",
                   size: tuple[int, int] = (560, 320)) -> Path:
    """``score`` over epochs, one line per run: ``histories`` maps a run's label to ``[(epoch, value)]``
    (runs without a validation row keep their legend entry, marked "no epochs")."""
    w, h = size
    legend_w, pad, head = 170, 36, 22
    img = Image.new("RGB", (w + legend_w, h), "white")
    draw = ImageDraw.Draw(img)
    draw.text((pad, 4), f"{score.replace('_', ' ')} per epoch (validation split; low is better)" if "mse" in score
              else f"{score.replace('_', ' ')} per epoch (validation split)", fill="black", font=_FONT)
    points = [p for pts in histories.values() for p in pts]
    x0, x1, y0, y1 = pad, w - 10, head, h - pad  # plot box
    draw.rectangle((x0, y0, x1, y1), outline="grey")
    if points:
        e_max = max(max(e for e, _ in points), 1.0)
        v_lo, v_hi = min(v for _, v in points), max(v for _, v in points)
        v_lo, v_hi = (v_lo - 0.5, v_hi + 0.5) if v_hi == v_lo else (v_lo, v_hi)

        def xy(e: float, v: float) -> tuple[float, float]:
            return x0 + (x1 - x0) * e / e_max, y1 - (y1 - y0) * (v - v_lo) / (v_hi - v_lo)

        for v in (v_lo, v_hi):
            draw.text((2, xy(0, v)[1] - 5), f"{v:.3g}", fill="black", font=_FONT)
        for e in range(int(e_max) + 1):
            draw.text((xy(e, v_lo)[0] - 3, y1 + 4), str(e), fill="black", font=_FONT)
        draw.text(((x0 + x1) // 2 - 14, y1 + 18), "epoch", fill="black", font=_FONT)
    for i, (label, pts) in enumerate(histories.items()):
        colour = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        if pts:
            line = [xy(e, v) for e, v in pts]
            if len(line) > 1:
                draw.line(line, fill=colour, width=2)
            for x, y in line:
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        ly = head + 14 * i
        draw.rectangle((w + 4, ly + 3, w + 14, ly + 9), fill=colour)
        draw.text((w + 18, ly), (label if pts else f"{label} (no epochs)")[:26], fill="black", font=_FONT)
    with atomic_path(path) as tmp:
        img.save(tmp)
    return path
