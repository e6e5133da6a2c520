"""``videogen3d``: the video experiment platform's commands (seed 000 §5.3); a thin dispatcher.

    videogen3d split VIDEO... --out DIR [--fps F] [--size HxW] [--format png|jpg]
    videogen3d join FRAMES_DIR --out x.mp4 [--fps F]
    videogen3d build pairs --cond A --target B --out pairs.csv [--tolerance 5] [--on-bad-file skip]
    videogen3d build labelled ROOT --out labelled.csv [--on-bad-file skip]
    videogen3d translate CKPT INPUT.mp4 --out OUT.mp4 [--target T.mp4] [--compare CMP.mp4]
                         [--window N --overlap K] [--size train|source|HxW] [--device cpu|cuda]
    videogen3d evaluate CKPT [--split val|test] [--json out.json] [--results DIR] [key=value | group=option ...]
    videogen3d check FILE...
    videogen3d report RUN_OR_MULTIRUN_DIR... [--out DIR] [--no-quality] [--wandb]

Outputs that exist are refused unless ``--overwrite``; an output that is one of the inputs always is.
A checkpoint holding more than tensors is refused unless ``--trust-checkpoint`` (then its other objects stay inert).

Training is ``python train.py`` (Hydra). The work is done in ``videogen3d.platform``; imports
happen inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videogen3d", description="videogen3d's video experiment platform "
                                "(seed 000 §5.3): split, join, build, translate, evaluate, check.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("split", help="video files -> frame folders (OUT/<stem>/000000.png ...)")
    s.add_argument("videos", nargs="+", metavar="VIDEO")
    s.add_argument("--out", required=True, help="folder that receives one frame folder per video")
    s.add_argument("--fps", type=float, help="resample to this rate by frame selection (default: the source's)")
    s.add_argument("--size", help="HEIGHTxWIDTH (e.g. 72x128) or one number; default: the source size")
    s.add_argument("--format", choices=("png", "jpg"), default="png")
    s.add_argument("--on-bad-file", choices=("error", "skip"), default="error")

    j = sub.add_parser("join", help="a frame folder -> an H.264 MP4")
    j.add_argument("frames", metavar="FRAMES_DIR")
    j.add_argument("--out", required=True)
    j.add_argument("--fps", type=float, help="default: the rate split recorded in frames.json, else 25")

    b = sub.add_parser("build", help="dataset manifests (CSV) for dataset=video_pairs / dataset=video_folder")
    bsub = b.add_subparsers(dest="kind", required=True, metavar="KIND")
    bp = bsub.add_parser("pairs", help="condition/target videos or frame folders matched by name")
    bp.add_argument("--cond", required=True)
    bp.add_argument("--target", required=True)
    bp.add_argument("--tolerance", type=int, default=5, help="frames two videos of a pair may differ by")
    bl = bsub.add_parser("labelled", help="one sub-folder of videos (or frame folders) per class")
    bl.add_argument("root", metavar="ROOT")
    for q in (bp, bl):
        q.add_argument("--out", required=True, help="the manifest CSV to write")
        q.add_argument("--on-bad-file", choices=("error", "skip"), default="error")
        q.add_argument("--relative", action="store_true", help="also write files outside the manifest's folder relative to it (inside ones always are)")
        q.add_argument("--fps", type=float, help="rate for encoding frame folders without frames.json")

    t = sub.add_parser("translate", help="apply a trained generator to a whole video (sliding windows)")
    t.add_argument("ckpt", metavar="CKPT")
    t.add_argument("input", metavar="INPUT", help="a video file or a frame folder")
    t.add_argument("--out", required=True)
    t.add_argument("--target", help="the real target video: adds a column and the metrics")
    t.add_argument("--compare", help="write the captioned side-by-side video here")
    t.add_argument("--window", type=int, help="frames per window (default: the run's clip_len)")
    t.add_argument("--overlap", type=int, help="frames shared by neighbouring windows (default: window // 2)")
    t.add_argument("--size", default="train", help="train (the run's frame_size), source, or HEIGHTxWIDTH")
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    t.add_argument("--config", help="the run's config YAML (default: <run>/.hydra/config.yaml)")

    e = sub.add_parser("evaluate", help="metrics table of a checkpoint on a dataset split")
    e.add_argument("ckpt", metavar="CKPT")
    e.add_argument("overrides", nargs="*", help="key=value or group=option applied to the run's config")
    e.add_argument("--split", choices=("train", "val", "test"), default="val")
    e.add_argument("--json", help="where to write the JSON (default: <run>/eval/<split>.json)")
    e.add_argument("--results", metavar="DIR", help="also write a results page: per clip the condition, generated "
                   "and target as MP4 and PNG, and DIR/index.html with the metrics (as pix2pix's test.py)")
    e.add_argument("--results-clips", type=int, default=16, metavar="N", help="clips on the results page")
    e.add_argument("--config", help="the run's config YAML (default: <run>/.hydra/config.yaml)")
    e.add_argument("--conf-dir", help="the conf/ folder for group=option overrides (default: the repository's)")
    e.add_argument("--device", default="cpu")

    for q in (s, j, bp, bl, t, e):  # no command writes over an existing file unless told to
        q.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    for q in (t, e):
        q.add_argument("--trust-checkpoint", action="store_true",
                       help="read a checkpoint that holds more than tensors: its weights, with every other "
                            "object left an inert placeholder (nothing in the file is run)")

    c = sub.add_parser("check", help="decode video files and say which are unreadable and why")
    c.add_argument("files", nargs="+", metavar="FILE")
    from videogen3d.report.cli import add_report_parser, run_report

    add_report_parser(sub)
    COMMANDS["report"] = run_report
    return p


def _split(a: argparse.Namespace) -> int:
    from videogen3d.data.video_io import VideoReadError
    from videogen3d.platform.frames import parse_size, split_video

    size, bad = parse_size(a.size), []
    for video in a.videos:
        try:
            print(split_video(video, a.out, a.fps, size, a.format, a.overwrite))
        except VideoReadError as exc:
            if a.on_bad_file == "error":
                raise
            bad.append(str(exc))
    for msg in bad:
        print(f"skipped: {msg}", file=sys.stderr)
    print(f"{len(a.videos) - len(bad)} video(s) split, {len(bad)} skipped", file=sys.stderr)
    return 0


def _join(a: argparse.Namespace) -> int:
    from videogen3d.platform.frames import join_frames

    print(join_frames(a.frames, a.out, a.fps, overwrite=a.overwrite))
    return 0


def _build(a: argparse.Namespace) -> int:
    from videogen3d.platform.build import build_labelled, build_pairs

    if a.kind == "pairs":
        report = build_pairs(a.cond, a.target, a.out, a.tolerance, a.on_bad_file, a.relative, a.fps, a.overwrite)
    else:
        report = build_labelled(a.root, a.out, a.on_bad_file, a.relative, a.fps, a.overwrite)
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"{report.manifest}: {len(report.rows)} entries, {len(report.skipped)} skipped")
    return 0


def _translate(a: argparse.Namespace) -> int:
    from videogen3d.platform.translate import translate_file

    result = translate_file(a.ckpt, a.input, a.out, a.target, a.compare, a.window, a.overlap, a.device,
                            a.size, a.config, a.overwrite, a.trust_checkpoint)
    print(json.dumps(result, indent=1))
    return 0


def _evaluate(a: argparse.Namespace) -> int:
    from pathlib import Path

    from videogen3d.platform.checkpoint import run_config_path
    from videogen3d.platform.evaluate import evaluate_checkpoint, markdown_table, write_json
    from videogen3d.platform.results_page import check_output_dir
    from videogen3d.utils.io import check_output

    if a.json:
        out = Path(a.json)
    elif a.config is None:
        out = run_config_path(a.ckpt).parent.parent / "eval" / f"{a.split}.json"
    else:
        out = Path(a.ckpt).with_suffix(f".{a.split}.json")
    check_output(out, [a.ckpt, a.config], a.overwrite, flag="--json")  # before the work, not after
    if a.results:
        check_output_dir(a.results, [a.ckpt, a.config, out], a.overwrite)
    result = evaluate_checkpoint(a.ckpt, a.split, a.overrides, a.config, a.device, a.conf_dir, a.trust_checkpoint,
                                 a.results, a.results_clips, a.overwrite)
    print(markdown_table(result))
    if a.results:
        print(f"\nresults page: {result['results_page']}")
    print(f"\nJSON: {write_json(result, out)}")
    return 0


def _check(a: argparse.Namespace) -> int:
    from videogen3d.platform.corpus import check_videos

    report = check_videos(a.files)
    for r in report:
        if r["ok"]:
            print(f"ok   {r['path']}: {r['frames']} frames, {r['fps']:.3g} fps, {r['width']}x{r['height']} (WxH)")
        else:
            print(f"BAD  {r['path']}: {r['reason']}")
    bad = sum(not r["ok"] for r in report)
    print(f"{len(report) - bad} readable, {bad} unreadable", file=sys.stderr)
    return 1 if bad else 0


COMMANDS = {"split": _split, "join": _join, "build": _build, "translate": _translate, "evaluate": _evaluate,
            "check": _check}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (errors: 1, with the message on stderr)."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # evaluate's key=value overrides may come after its options
        if args.command != "evaluate" or any(x.startswith("-") or "=" not in x for x in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (OSError, ValueError, RuntimeError) as exc:  # VideoReadError is a RuntimeError; messages name the file
        print(f"videogen3d {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
