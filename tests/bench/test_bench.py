"""Every benchmark runs at a tiny size and writes its JSON (CI: CPU only; no timing is a pass condition)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hydra.utils import instantiate

from videogen3d.bench import BENCHMARKS
from videogen3d.bench.__main__ import main
from videogen3d.bench.common import compose
from videogen3d.bench.flops import count_flops

MACHINE_KEYS = {"cpu", "cores", "torch", "lightning", "device", "torch_threads"}


def _run(name: str, tmp_path, data_dir, *extra: str) -> dict:
    out = tmp_path / "bench"
    argv = [name, "--tiny", "--device", "cpu", "--out", str(out), "--data-dir", str(data_dir), *extra]
    assert main(argv) == 0
    record = json.loads((out / f"{name}.json").read_text())
    assert record["benchmark"] == name
    assert record["command"] == "python -m videogen3d.bench " + " ".join(argv)
    assert MACHINE_KEYS <= set(record["machine"]) and record["machine"]["device"] == "cpu"
    assert record["figures"], f"{name} wrote no rows"
    for row in record["figures"]:
        assert set(record["columns"]) <= set(row), f"{name}: a row misses columns"
    return record


def _positive(values) -> None:
    for v in values:
        assert isinstance(v, float) and math.isfinite(v) and v > 0, values


def test_loader_compares_the_paths_on_the_same_clips(tmp_path, shared_data_dir):
    rec = _run("loader", tmp_path, shared_data_dir)
    rows = {r["key"]: r for r in rec["figures"]}
    assert set(rows) == {"datamodule", "bank_on_device", "plain_gather", "per_sample", "row_major_bank",
                         "decode_per_clip"}
    _positive([r["clips/s"] for r in rows.values()])
    assert rows["plain_gather"]["x plain gather (time)"] == pytest.approx(1.0)
    assert rows["decode_per_clip"]["x decode per clip (speed)"] == pytest.approx(1.0)
    assert rows["plain_gather"]["x plain gather (CPU time)"] == pytest.approx(1.0)
    _positive([r["CPU ms/clip"] for r in rows.values()])
    assert rec["extra"]["mp4_write_seconds"] > 0  # the decord path read real H.264 files


def test_starvation_reports_a_fraction_per_preset(tmp_path, shared_data_dir):
    rec = _run("starvation", tmp_path, shared_data_dir)
    assert [r["preset"] for r in rec["figures"]] == ["quickstart", "resnet_v4"]
    assert rec["figures"][1]["generator"] == "ResUNet3d"
    for r in rec["figures"]:
        assert 0 < r["data wait %"] < 100 and r["batches"] == rec["settings"]["steps"]


def test_overhead_runs_raw_and_lightning_for_translator_and_gan(tmp_path, shared_data_dir):
    rec = _run("overhead", tmp_path, shared_data_dir)
    assert [r["task"] for r in rec["figures"]] == ["translator", "gan"]
    assert rec["figures"][1]["disc"].endswith("ConvDiscriminator")
    _positive([r[k] for r in rec["figures"] for k in ("raw PyTorch steps/s", "Lightning steps/s", "raw CPU ms/step",
                                                        "Lightning CPU ms/step")])


def test_step_counts_flops_and_runs_bf16_and_channels_last(tmp_path, shared_data_dir):
    rec = _run("step", tmp_path, shared_data_dir, "--families", "unet4,resnet_v4",
               "--modes", "fp32,bf16+channels_last_3d", "--threads-list", "1")
    rows = rec["figures"]
    assert [(r["family"], r["mode"]) for r in rows] == [(f, m) for f in ("unet4", "resnet_v4")
                                                        for m in ("fp32", "bf16+channels_last_3d")]
    assert {r["threads"] for r in rows} == {1}
    _positive([r["clips/s"] for r in rows])
    flops = {r["family"]: r["GFLOP/step"] for r in rows}
    assert flops["resnet_v4"] > flops["unet4"] > 0  # the deeper network costs more
    assert all(r["MFU"] is None and r["peak MiB"] is None for r in rows)  # CPU: neither is claimed


@pytest.mark.slow
def test_step_compiles(tmp_path, shared_data_dir):
    rec = _run("step", tmp_path, shared_data_dir, "--families", "unet4", "--modes", "fp32,compile",
               "--compile-backend", "aot_eager")
    assert rec["figures"][1]["compile s"] > 0


def test_sweep_flops_follow_the_geometry(tmp_path, shared_data_dir):
    rec = _run("sweep", tmp_path, shared_data_dir)
    base = rec["figures"][0]
    assert base["axis"] == "base" and base["x base FLOPs"] == pytest.approx(1.0)
    for r in rec["figures"][1:]:
        ratio = {"clip_len": r["value"] / 4, "frame_size": (r["value"] / 32) ** 2, "batch": r["value"] / 2}[r["axis"]]
        # convolution FLOPs scale with T, H*W and B (U-Net: the same layers at every size)
        assert r["x base FLOPs"] == pytest.approx(ratio, rel=0.05), r


def test_synthesis_times_the_three_methods_both_ways(tmp_path, shared_data_dir):
    rec = _run("synthesis", tmp_path, shared_data_dir, "--guides", "frozen_copy,plain")
    rows = rec["figures"]
    assert {(r["method"], r["path"], r["guides"]) for r in rows} == {
        (m, p, g) for m in ("ours", "comparison", "ours_dae") for p in ("raw", "lightning") for g in ("frozen_copy", "plain")}
    assert all(r["videos"].startswith("11x3x") for r in rows)  # the 11 targets in one batch
    _positive([r["iterations/s"] for r in rows])
    _positive([r["GFLOP/iteration"] for r in rows])
    assert all(r["MFU"] is None for r in rows)  # no peak for a CPU: none is guessed
    with pytest.raises(ValueError, match="--guides: unknown 'fast'"):
        _run("synthesis", tmp_path, shared_data_dir, "--guides", "fast")


def test_synthesis_counts_an_iterations_flops_without_running_it(tmp_path, shared_data_dir):
    # --flops-only: shapes only (meta tensors), so the paper scale's full C3D at 128x96 is counted in a moment on a CPU
    out = tmp_path / "bench"
    assert main(["synthesis", "--flops-only", "--scales", "cpu,paper", "--device", "cpu", "--out", str(out),
                 "--data-dir", str(shared_data_dir)]) == 0
    rec = json.loads((out / "synthesis.json").read_text())
    rows = {(r["scale"], r["method"]): r for r in rec["figures"]}
    assert set(rows) == {(s, m) for s in ("cpu", "paper") for m in ("ours", "comparison", "ours_dae")}
    assert "iterations/s" not in rec["columns"]
    assert rows["paper", "ours"]["videos"] == "11x3x16x96x128"
    cfg = compose(["scale=cpu"], shared_data_dir, config_name="synth")
    hw = tuple(int(v) for v in cfg.dataset.source.frame_size)
    with torch.device("meta"):
        clf = instantiate(cfg.classifier.module.net, num_classes=11, clip_len=16, frame_size=hw).eval()
        forward = count_flops(lambda: clf(torch.zeros(11, 3, 16, *hw)))
    # eq. 11: the C3D's forward and its input gradient, the same FLOPs again; the frozen weights get no gradient
    assert rows["cpu", "comparison"]["GFLOP/iteration"] == pytest.approx(2 * forward / 1e9, rel=1e-6)
    for scale in ("cpu", "paper"):
        ours, dae, comp = (rows[scale, m]["GFLOP/iteration"] for m in ("ours", "ours_dae", "comparison"))
        assert ours > dae > comp  # the tempCAE's forward adds FLOPs; eq. 8's full gradient also its backward
    paper = rows["paper", "ours"]
    floor = 50000 * paper["GFLOP/iteration"] * 1e9 / 989.4e12
    assert paper["50000 iterations at the H100 peak (s)"] == pytest.approx(floor, rel=1e-3)
    assert paper["MFU for 3 min"] == pytest.approx(floor / 180, rel=1e-3)


def test_translate_writes_every_frame(tmp_path, shared_data_dir):
    rec = _run("translate", tmp_path, shared_data_dir)
    assert [r["key"] for r in rec["figures"]] == ["translate_file", "network", "cli"]
    assert rec["settings"]["frames"] == 24
    _positive([r["frames/s"] for r in rec["figures"]])


def test_vae_times_each_clip_vae_and_counts_a_fit(tmp_path, shared_data_dir):
    rec = _run("vae", tmp_path, shared_data_dir)
    rows = {r["vae"]: r for r in rec["figures"]}
    assert set(rows) == {"clip_vae", "sprite_vae"}
    assert (rows["clip_vae"]["network"], rows["sprite_vae"]["network"]) == ("ClipVAE", "SpriteClipVAE")
    _positive([r["ms/step"] for r in rows.values()])
    assert rows["clip_vae"]["ratio to clip_vae"] == 1.0
    # one fit's steps: the tiny scale's epochs x ceil(its training clips / its batch)
    cfg = compose(["scale=tiny"], shared_data_dir, config_name="synth")
    per_class = cfg.vae.get("clips_per_class") or cfg.dataset.source.clips_per_class
    train = round(per_class * 11 * (1 - 2 * cfg.dataset.val_fraction))
    assert rows["sprite_vae"]["fit steps"] == cfg.vae.epochs * -(-train // cfg.dataset.batch_size)
    with pytest.raises(Exception, match="sprite"):  # an unknown option is named by Hydra
        _run("vae", tmp_path, shared_data_dir, "--vaes", "clip_vae,sprites")


def test_every_benchmark_has_a_test_here():
    names = {n for n in BENCHMARKS}
    assert names == {"loader", "starvation", "overhead", "step", "sweep", "synthesis", "translate", "vae"}


def test_an_unknown_mode_or_device_is_refused_by_name(tmp_path, shared_data_dir):
    from videogen3d.bench.step import Mode

    with pytest.raises(ValueError, match="fp16"):
        Mode.parse("bf16+fp16")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            main(["step", "--tiny", "--device", "cuda", "--out", str(tmp_path)])
