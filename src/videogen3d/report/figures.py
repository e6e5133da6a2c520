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
