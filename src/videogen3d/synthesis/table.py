"""Seed 003's Table 1 layout (method, iterations, η_C3D, η_tempCAE, η_norm, accuracy) from an evaluation.

The seed's accuracy came from 300 people; ours from the automated judge
(:mod:`videogen3d.synthesis.judge`), so the table says so and adds the judge's other columns.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from videogen3d.utils.io import atomic_path

__all__ = ["table_rows", "markdown_table", "write_table"]

_LABEL = {"ours": "Ours (C3D + tempCAE, eq. 8)", "comparison": "Comparison (C3D + L2 norm, eq. 11)",
          "ours_dae": "Ours, denoising tempCAE + residual prior gradient (not in the seed)"}
_ORDER = ("ours", "comparison", "ours_dae")
_OPT = {"adam": "Adam", "normgd": "normalised GD"}


def _eta(v: Any) -> str:
    return "none" if v is None else f"{float(v):g}"


def _prob(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f} %"


def table_rows(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per synthesis method in ``evaluation['methods']``: ours, comparison, ours_dae, then any other."""
    rows = []
    present = evaluation.get("methods", {})
    for method in sorted(present, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER)):
        m = present[method]
        rows.append({k: m.get(k) for k in ("method", "iterations", "optimizer", "lr", "eta_c3d", "eta_tempcae",
                                           "eta_norm", "eta_scale", "eta_c3d_scale", "prior_gradient", "tempcae_noise", "c3d_noise",
                                           "accuracy", "judge_p_target", "multi_label_top_k", "background_deviation", "frechet", "videos",
                                           "single_label_videos", "label", "ablates", "c3d_adv", "jitter", "eta_tv",
                                           "langevin", "coarse", "classifiers", "classifier_ckpts", "generator", "vae",
                                           "eta_code", "code_init", "code_sphere", "layers", "composite_weight", "eta_ink", "layout", "matte", "candidates",
                                           "select_at", "select_by", "select_layers", "c3d_vae_mix", "guide_nets", "seconds")})
    return rows


def markdown_table(rows: list[dict[str, Any]], evaluation: dict[str, Any]) -> str:
    """The markdown table; a footer names the scale, the judge and its accuracy on real clips."""
    head = ("| Method | Iteration | η_C3D | η_tempCAE | η_norm | Accuracy (judge) | Judge p(target) "
            "| Multi-label (both in judge top 2) | Background dev. from white | Fréchet (judge features) | Videos |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        opt = "" if r["optimizer"] == "gd" else f" [{_OPT.get(r['optimizer'], r['optimizer'])}, lr {r['lr']:g}]"
        name = r.get("label") or _LABEL.get(r["method"], r["method"])
        if r.get("ablates"):
            name = f"{r['method']}: without {', '.join(r['ablates'])}"
        fd = "n/a" if r["frechet"] is None else f"{r['frechet']:.2f}"
        lines.append(f"| {name}{opt} | {r['iterations']} | {_eta(r['eta_c3d'])} "
                     f"| {_eta(r['eta_tempcae'])} | {_eta(r['eta_norm'])} | {_pct(r['accuracy'])} "
                     f"| {_prob(r.get('judge_p_target'))} | {_pct(r.get('multi_label_top_k'))} "
                     f"| {r['background_deviation']:.3f} | {fd} | {r['videos']} |")
    real = evaluation.get("real", {})
    if real:  # the reference: what the judge says of real clips (and of real two-object composites)
        multi = _pct(real.get("multi_label_top_k"))
        if real.get("multi_clips"):
            multi += f" ({real['multi_clips']} composites)"
        lines.append(f"| Real held-out clips (reference) | – | – | – | – | {_pct(real.get('accuracy'))} "
                     f"| {_prob(real.get('judge_p_target'))} | {multi} | {real['background_deviation']:.3f} | n/a "
                     f"| {real['clips']} |")
    notes = [f"Scale: {evaluation.get('scale', '?')}; {evaluation.get('geometry', '')}."]
    scales = sorted({(float(r.get("eta_scale") or 1.0), float(r.get("eta_c3d_scale") or r.get("eta_scale") or 1.0))
                     for r in rows})
    if scales != [(1.0, 1.0)]:
        notes.append("η columns are the values used: Table 1's η (10, 10, 5) × " + "; ".join(
            f"eta_scale {s:g} for the priors and {c:g} for η_C3D" if c != s else f"eta_scale {s:g} (ratios kept)"
            for s, c in scales) + " (fewer iterations and pixels than the seed).")
    for r in rows:
        if r.get("prior_gradient") == "residual" or r.get("tempcae_noise"):
            notes.append(f"{r['method']}: tempCAE trained with {r.get('tempcae_noise') or 'no'} input corruption; "
                         f"prior gradient {r.get('prior_gradient')} ('full' is eq. 8's d/dX, 'residual' stops it "
                         f"through the decoder).")
    c3d_noise = sorted({r["c3d_noise"] for r in rows if r.get("c3d_noise")})
    if c3d_noise:
        notes.append(f"C3D trained with {', '.join(c3d_noise)} input noise, labels kept (classifier.noise_level; "
                     f"ours: the seed trains it on clean clips).")
    for r in rows:
        nets: dict[str, list[str]] = {}  # the guides by network class (records without it: C3Ds)
        for c in r.get("classifier_ckpts") or []:
            nets.setdefault((r.get("guide_nets") or {}).get(c, "C3D"), []).append(c)
        parts = ["; ".join(f"{net} {', '.join(cs)}" for net, cs in nets.items())] if nets else []
        parts += [f"adversarially trained ({r['c3d_adv']})"] if r.get("c3d_adv") else []
        parts += [f"classifier_vae: the C3D trained further on clips of which {r['c3d_vae_mix']:.0%} are the clip VAE's "
                  f"reconstructions"] if r.get("c3d_vae_mix") else []
        parts += [f"its batches {r['c3d_vae_negatives']:.0%} larger with synthesis's own videos as clips of no class "
                  f"(negatives)"] if r.get("c3d_vae_negatives") else []
        parts += [f"jitter {r['jitter']}"] if r.get("jitter") else []
        parts += [f"TV {r['eta_tv']:g}"] if r.get("eta_tv") else []
        parts += [f"Langevin {r['langevin']:g}"] if r.get("langevin") else []
        parts += [f"coarse-to-fine {r['coarse']}"] if r.get("coarse") else []
        if r.get("generator"):
            vae = r.get("vae") or {}
            parts += [f"synthesised through the code of {r['generator']} ("
                      + (f"{vae['net']}, " if vae.get("net") else "") + f"latent {vae.get('latent_dim', '?')}, "
                      f"beta {vae.get('beta', '?')}"
                      + (f", foreground weight {vae['foreground_weight']:g}" if vae.get("foreground_weight") else "")
                      + f"), code prior {r.get('eta_code')}, start code std {r.get('code_init')}"
                      + (", each code kept on the sphere |u| = sqrt(d)" if r.get("code_sphere") else "")
                      + (f", one code per label ({r['layers']} layers) for multi-label targets" if r.get("layers") else "")
                      + (_composite_note(r.get("composite_weight")) if r.get("layers") else "")
                      + (f", each layer held near its label's ink per frame in the real clips (ink prior "
                         f"{r['eta_ink']:g})" if r.get("layers") and r.get("eta_ink") else "")
                      + (f", each layer's ink below {r['matte']:g} made white" if r.get("layers") and r.get("matte")
                         else "")
                      + (f", the layers then placed apart (shifts up to {r['layout']:.0%} of the frame)"
                         if r.get("layers") and r.get("layout") else "")]
        parts += [f"{r['candidates']} random starts per video, each video's best by its own classifiers"
                  + (" (scored by the weakest of them)" if r.get("select_by") == "weakest" else "")
                  + (", each layer of a multi-label video its own" if r.get("select_layers") == "each" else "")
                  + f" kept after {r['select_at']:.0%} of the iterations"] if r.get("candidates") else []
        if (r.get("c3d_adv") or r.get("jitter") or r.get("eta_tv") or r.get("langevin") or r.get("coarse") or r.get("generator")
                or r.get("candidates")):
            notes.append(f"{r['method']}: " + "; ".join(parts) + ".")
    if real:
        notes.append(f"Judge ({evaluation.get('judge', 'judge')}) on {real['clips']} real held-out clips: accuracy "
                     f"{_pct(real['accuracy'])}, background dev. {real['background_deviation']:.3f}.")
        if real.get("multi_clips"):
            per = ", ".join(f"{k} {_pct(v)}" for k, v in real.get("multi_by_target", {}).items())
            notes.append(f"Multi-label reference: {real['multi_clips']} real two-object clips (held-out clips of each "
                         f"target's classes, multiply-blended: the layers' composite) have both classes in the "
                         f"judge's top 2 for {_pct(real['multi_label_top_k'])} ({per}); "
                         + _judge_training(evaluation.get("judge_composite_mix")))
    notes.append("Seed 003 Table 1 (300 people, 128x96, 50000 iterations): Ours 88.2 %, Comparison 42.7 %.")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def _composite_note(weight: float | None) -> str:
    if weight is None:
        return ""
    if weight == 0:
        return ", their C3D term on each layer toward its own label only"
    return f", {weight:.0%} of their C3D term on the composite, the rest on each layer toward its own label"


def _judge_training(mix: float | None) -> str:
    if not mix:
        return "the judge was trained on one object per clip."
    return f"the judge was trained with {mix:.0%} of its clips two-object composites (target 1/2 on each class)."


def write_table(evaluation: dict[str, Any], out_dir: str | os.PathLike) -> tuple[str, Path, Path]:
    """Markdown text, and the ``table.md`` / ``table.json`` written to ``out_dir``."""
    rows = table_rows(evaluation)
    if not rows:
        raise ValueError("the evaluation holds no synthesis method; run stage=evaluate after stage=synthesis")
    md = markdown_table(rows, evaluation)
    out = Path(out_dir)
    md_path, json_path = out / "table.md", out / "table.json"
    with atomic_path(md_path) as tmp:
        tmp.write_text(md)
    payload = {"rows": rows, "real": {k: v for k, v in evaluation.get("real", {}).items() if k != "features"},
               "scale": evaluation.get("scale"), "geometry": evaluation.get("geometry")}
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))
    return md, md_path, json_path
