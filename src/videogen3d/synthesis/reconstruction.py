"""What the clip VAE can draw: its reconstructions of real clips that no network of the pipeline trained on.

``best`` synthesises through the clip VAE's code, so an object that the decoder cannot draw from a real clip's own
code is out of ``best``'s reach too (the README's bicycles). This reads a trained clip VAE against real clips of
every class, rendered from another seed than the pipeline's (seed 8, as the held-out readers' pairs)::

    python -m videogen3d.synthesis.reconstruction logs/synth/cpu/checkpoints/vae.ckpt --png logs/synth/cpu/reconstructions.png

It prints, per class, the mean squared error (on the [-1, 1] range) of the reconstruction from the posterior mean
over the sprite pixels (where any channel of the real clip is below ``FOREGROUND_BELOW``, the foreground of the clip
VAE's own ``foreground_weight``), and the mean over the classes; the white background, most of a clip, is left out
so that a missing object shows. ``--png`` writes, for the first ``--rows`` clips of each class of ``--classes``, a
row of the real clip's frames over a row of its reconstruction (every ``--every``-th frame, enlarged ``--scale``
times). The geometry is the checkpoint's own.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.data.video_io import write_png
from videogen3d.synthesis.checkpoints import load_module
from videogen3d.synthesis.figures import enlarge
from videogen3d.synthesis.readers import real_clips_by_class
from videogen3d.tasks.vae import FOREGROUND_BELOW, ClipVAEModule
from videogen3d.utils.entry import run_main
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid

__all__ = ["sprite_error", "reconstruction_errors", "main"]


def sprite_error(real: torch.Tensor, recon: torch.Tensor) -> float:
    """Mean squared error of ``recon`` against ``real`` (both ``(N, C, T, H, W)`` in [-1, 1]) over the pixels where
    any channel of ``real`` is below ``FOREGROUND_BELOW``; NaN where ``real`` has no such pixel."""
    if real.shape != recon.shape:
        raise ValueError(f"real clips {tuple(real.shape)} and reconstructions {tuple(recon.shape)} differ in shape")
    fg = (real < FOREGROUND_BELOW).any(dim=1, keepdim=True).expand_as(real)
    if not bool(fg.any()):
        return float("nan")
    return float((recon.float() - real.float()).pow(2)[fg].mean())


@torch.no_grad()
def reconstruction_errors(vae: torch.nn.Module, by_class: dict[int, torch.Tensor]) -> dict[str, float]:
    """``{class name: sprite_error}`` of ``vae.reconstruct`` (a :class:`~videogen3d.models.clip_vae.ClipVAE`) on each
    class's clips, plus ``"mean"`` over the classes."""
    vae.eval()
    out = {CLASS_NAMES[k]: sprite_error(x, vae.reconstruct(x)) for k, x in by_class.items()}
    out["mean"] = float(torch.tensor(list(out.values())).nanmean())
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(prog="python -m videogen3d.synthesis.reconstruction", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vae", type=Path, help="a clip VAE checkpoint (checkpoints/vae.ckpt of a synth.py work_dir)")
    p.add_argument("--clips-per-class", type=int, default=20)
    p.add_argument("--seed", type=int, default=8, help="the render seed of the real clips (the pipeline's is 0)")
    p.add_argument("--png", type=Path, default=None, help="also write real-over-reconstruction rows here")
    p.add_argument("--classes", default="bicycle_right,bicycle_left,car_right,airplane_up",
                   help="comma-separated classes of the figure")
    p.add_argument("--rows", type=int, default=2, help="clips per class in the figure")
    p.add_argument("--every", type=int, default=4, help="every n-th frame in the figure")
    p.add_argument("--scale", type=int, default=3, help="enlargement of the figure")
    p.add_argument("--json", type=Path, default=None, help="also write the errors here")
    a = p.parse_args(argv)
    if a.clips_per_class < 1 or a.rows < 1 or a.every < 1:
        raise ValueError(f"--clips-per-class, --rows and --every must be >= 1, got {a.clips_per_class}, {a.rows}, "
                         f"{a.every}")
    figure = [c.strip() for c in a.classes.split(",") if c.strip()] if a.png else []
    unknown = [c for c in figure if c not in CLASS_NAMES]
    if unknown:
        raise ValueError(f"--classes: unknown {unknown}; the classes are {list(CLASS_NAMES)}")
    if not a.vae.is_file():
        raise FileNotFoundError(f"clip VAE checkpoint {str(a.vae)!r} not found; python synth.py stage=autoencoder makes "
                                f"one (checkpoints/vae.ckpt of its work_dir)")
    module = load_module(a.vae, "clip VAE", ClipVAEModule, "python synth.py stage=autoencoder")
    net = module.net
    by_class = real_clips_by_class(list(net.frame_size), net.clip_len, a.clips_per_class, a.seed)
    errors = reconstruction_errors(net, by_class)
    print(f"{a.vae}: sprite-pixel MSE of the reconstructions of {a.clips_per_class} real clips per class (render seed "
          f"{a.seed}): mean {errors['mean']:.3f}")
    for name in CLASS_NAMES:
        print(f"  {name:<14} {errors[name]:.3f}")
    if a.json:
        with atomic_path(a.json) as tmp:
            tmp.write_text(json.dumps(errors, indent=1))
    if a.png:
        rows = []
        with torch.no_grad():
            for name in figure:
                real = by_class[CLASS_NAMES.index(name)][:a.rows]
                for clip, recon in zip(real, net.reconstruct(real)):
                    rows += [clip, recon]
        print(write_png(a.png, frame_grid(enlarge(torch.stack(rows)[:, :, ::a.every], a.scale), gap=2 * a.scale)))
    return errors


if __name__ == "__main__":
    run_main(main, "videogen3d.synthesis.reconstruction")
