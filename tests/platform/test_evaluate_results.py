"""``videogen3d evaluate --results DIR``: the pix2pix-style results page of a real (tiny) checkpoint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from PIL import Image

from videogen3d.cli import main
from videogen3d.data.video_io import read_video
from videogen3d.platform.evaluate import METRICS
from videogen3d.train import train
from videogen3d.utils.compose import TINY, compose_train

QUICK = ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "baselines=false",
         "callbacks.sample_media=null", "callbacks.lr_monitor=null", "generator=unet4"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, shared_data_dir) -> Path:
    out = tmp_path_factory.mktemp("run")
    cfg = compose_train(QUICK, out, shared_data_dir)
    try:
        results = train(cfg)
    finally:
        GlobalHydra.instance().clear()
    (out / ".hydra").mkdir(exist_ok=True)  # @hydra.main writes it; under compose the test does
    OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), out / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create([*TINY, *QUICK]), out / ".hydra" / "overrides.yaml")
    return Path(results["checkpoint"])


def test_results_page_has_every_clip_decodable_and_the_metrics_evaluate_reports(ckpt, tmp_path, capsys):
    page, js = tmp_path / "page", tmp_path / "eval.json"
    assert main(["evaluate", str(ckpt), "--json", str(js), "--results", str(page), "--results-clips", "3",
                 "dataset.batch_size=2"]) == 0
    assert f"results page: {page / 'index.html'}" in capsys.readouterr().out
    result = json.loads(js.read_text())
    assert result["results_page"] == str(page / "index.html") and result["clips"] >= 3
    index = (page / "index.html").read_text()
    clip_len, size = 4, 32  # the TINY geometry the checkpoint was trained at
    for i in range(3):  # 3 clips over two batches of 2: the page stops at --results-clips
        for role in ("cond", "fake", "target"):
            stem = f"clips/clip{i:03d}_{role}"
            assert f"src='{stem}.mp4'" in index and f"src='{stem}.png'" in index
            frames, _ = read_video(page / f"{stem}.mp4")
            assert frames.shape == (clip_len, size, size, 3)
            with Image.open(page / f"{stem}.png") as strip:  # one column per frame, 2-pixel gaps
                assert strip.size == (clip_len * (size + 2) - 2, size)
    assert not (page / "clips" / "clip003_cond.mp4").exists()
    # the split's metrics as evaluate printed them, generator and identity baseline
    for key, (label, _) in METRICS.items():
        assert f"<td>{label}</td><td>{result['metrics'][key]:.4f}</td><td>{result['identity'][key]:.4f}</td>" in index
    # per-clip rows: 3 clips x 4 metrics (their mean against the split's MSE: the next test)
    rows = re.findall(r"<tr><td>(\d+)</td>.*?</tr>", index)
    assert rows == ["0", "1", "2"]
    cells = [re.findall(r"<td>([0-9.]+)</td>", row)[1:] for row in re.findall(r"<tr><td>\d+</td>.*?</tr>", index)]
    assert all(len(c) == len(METRICS) for c in cells)
    mse = [float(c[list(METRICS).index("mse")]) for c in cells]
    assert all(0 < m < 1 for m in mse)
    # the generated MP4 is the generator's output, not a copy of the condition or target
    fake, _ = read_video(page / "clips" / "clip000_fake.mp4")
    cond, _ = read_video(page / "clips" / "clip000_cond.mp4")
    assert np.abs(fake.astype(int) - cond.astype(int)).mean() > 2


def test_results_page_mse_matches_evaluate_over_the_same_clips(ckpt, tmp_path):
    """With as many page clips as the split has, the mean per-clip MSE is the split's MSE (equal clip sizes)."""
    from videogen3d.platform.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(ckpt, "val", ["dataset.batch_size=2"], results=tmp_path / "page", results_clips=999)
    index = (tmp_path / "page" / "index.html").read_text()
    cells = [re.findall(r"<td>([0-9.]+)</td>", row)[1:] for row in re.findall(r"<tr><td>\d+</td>.*?</tr>", index)]
    assert len(cells) == result["clips"]
    per_clip = np.mean([float(c[list(METRICS).index("mse")]) for c in cells])
    assert per_clip == pytest.approx(result["metrics"]["mse"], rel=1e-3, abs=1e-4)


def test_results_dir_is_refused_when_not_empty_and_left_whole(ckpt, tmp_path, capsys):
    page = tmp_path / "page"
    page.mkdir()
    (page / "mine.txt").write_text("keep me")
    args = ["evaluate", str(ckpt), "--json", str(tmp_path / "e.json"), "--results", str(page), "--results-clips", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert str(page) in err and "--overwrite" in err and not (tmp_path / "e.json").exists()  # refused before work
    assert sorted(p.name for p in page.iterdir()) == ["mine.txt"]
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in page.iterdir()) == ["clips", "index.html"]  # replaced whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".page.")]  # no temporary folder left
    run = ckpt.parent.parent
    assert main(["evaluate", str(ckpt), "--json", str(tmp_path / "f.json"), "--results", str(run)]) == 1
    assert "holds an input" in capsys.readouterr().err  # never over the run's own folder


def test_a_failing_evaluation_leaves_no_half_written_page(ckpt, tmp_path, monkeypatch):
    from videogen3d.platform import results_page
    from videogen3d.platform.evaluate import evaluate_checkpoint

    written = []

    def disk_full(path, frames, fps):  # the fourth MP4 fails: clip 0 was written whole, clip 1 half
        if len(written) == 3:
            raise OSError(28, "No space left on device", str(path))
        written.append(path)
        return path

    monkeypatch.setattr(results_page, "write_video", disk_full)
    with pytest.raises(OSError, match="No space left"):
        evaluate_checkpoint(ckpt, "val", [], results=tmp_path / "page")
    assert len(written) == 3 and list(tmp_path.iterdir()) == []
