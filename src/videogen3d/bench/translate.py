"""translate: frames/s of ``videogen3d translate`` on a 250-frame video.

A generator from the composed config (the quick start's by default; ``generator=...`` to change)
with seeded random weights is saved as a checkpoint beside its run config; the source video is the
condition frames of the first sequences of the dataset's bank, ``--frames`` long, written as H.264
with PyAV. Rows (interleaved over ``--rounds``): ``translate_file`` (what the command does: decode,
windows through the network, cross-fade, encode), its network part alone (``translate_frames`` on
decoded frames), and the command line itself (``videogen3d translate``, a new process: start-up and
imports included; run once).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from videogen3d.bench.common import build_datamodule, compose, data_dir
from videogen3d.bench.runner import Report, interleaved, median


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=int, default=250, help="length of the source video")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (medians are reported)")
    p.add_argument("--no-cli", action="store_true", help="skip the command-line row")


def _source_frames(cfg, n: int) -> tuple[np.ndarray, float]:
    bank = build_datamodule(cfg).bank
    frames = bank.cond if bank.cond is not None else bank.target
    reps = -(-n // len(frames))
    return np.concatenate([frames.numpy()] * reps)[:n], float(bank.fps)


def _write_run(cfg, folder: Path) -> tuple[Path, Path]:
    """``checkpoints/last.ckpt`` (``generator.*`` weights) and ``.hydra/config.yaml``, as a run writes them."""
    torch.manual_seed(0)
    net = instantiate(cfg.generator)
    ckpt = folder / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"generator.{k}": v for k, v in net.state_dict().items()}}, ckpt)
    conf = folder / ".hydra" / "config.yaml"
    conf.parent.mkdir(parents=True)
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.save(OmegaConf.create(OmegaConf.to_container(plain, resolve=True)), conf)
    return ckpt, conf


def run(args: argparse.Namespace, device: torch.device) -> Report:
    from videogen3d.data.video_io import read_video, write_video
    from videogen3d.platform.checkpoint import load_generator
    from videogen3d.platform.translate import translate_file, translate_frames

    if args.tiny:
        args.frames, args.rounds = 24, 1
    cfg = compose(list(args.overrides), data_dir(args.data_dir), tiny=args.tiny)
    with tempfile.TemporaryDirectory(prefix="videogen3d-bench-translate-") as tmp:
        tmp_path = Path(tmp)
        ckpt, conf = _write_run(cfg, tmp_path / "run")
        frames, fps = _source_frames(cfg, args.frames)
        src = write_video(tmp_path / "source.mp4", frames, fps)
        gen = load_generator(ckpt, device=device)
        window = int(gen.clip_len)
        decoded, _ = read_video(src, gen.frame_size)

        def whole() -> float:
            t0 = time.perf_counter()
            out = translate_file(ckpt, src, tmp_path / "out.mp4", device=str(device))
            assert out["frames"] == len(frames), out
            return out["frames"] / (time.perf_counter() - t0)

        def network() -> float:
            t0 = time.perf_counter()
            out = translate_frames(gen, decoded, window, window // 2, device)
            return len(out) / (time.perf_counter() - t0)

        rates = interleaved({"translate_file": whole, "network": network}, args.rounds)
        cli_rate = None
        if not args.no_cli:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
            cmd = [sys.executable, "-m", "videogen3d.cli", "translate", str(ckpt), str(src), "--out",
                   str(tmp_path / "cli.mp4"), "--device", str(device)]
            if args.threads:  # the command has no thread option; OMP_NUM_THREADS sets torch's pool
                env["OMP_NUM_THREADS"] = str(args.threads)
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            cli_rate = len(frames) / (time.perf_counter() - t0)
    report = Report("translate", ["path", "frames/s", "s per video", "x whole command (speed)"])
    whole_rate = median(rates["translate_file"])
    labels = {"translate_file": "translate_file: decode + windows + cross-fade + encode",
              "network": "network only (translate_frames, overlapping windows)"}
    for key, vals in rates.items():
        r = median(vals)
        report.rows.append({"path": labels[key], "key": key, "frames/s": r, "s per video": len(frames) / r,
                            "x whole command (speed)": r / whole_rate, "per_round": vals})
    if cli_rate is not None:
        report.rows.append({"path": "`videogen3d translate` (new process, start-up included)", "key": "cli",
                            "frames/s": cli_rate, "s per video": len(frames) / cli_rate,
                            "x whole command (speed)": cli_rate / whole_rate})
    report.settings = {"frames": len(frames), "frame_size": list(gen.frame_size), "window": window,
                       "overlap": window // 2, "generator": cfg.generator._target_.rsplit(".", 1)[-1],
                       "rounds": args.rounds, "overrides": list(args.overrides)}
    return report
