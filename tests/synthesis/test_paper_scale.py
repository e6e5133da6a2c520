"""The paper scale's geometry end to end (slow: about 8 minutes on a 2-core CPU; ``pytest -m slow``).

``python synth.py stage=all scale=paper trainer=gpu`` has never run: no GPU was lent to this work, and its full run
needs more GPU time than a session is lent (README, "The paper's scale"). So that a lent GPU is not spent on a bug of
that geometry, this runs every stage of ``scale=paper`` (128x96, the full-width C3D with 5 pools, the clip VAE, the
tempCAE, the judge, the introspective rounds and all three methods) on the CPU with 10 clips per class, one epoch each,
two iterations and one video per target: the networks, the shapes and the files of the real run, none of its figures.
"""

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from videogen3d.synthesis.stages import run

CONF = str(Path(__file__).resolve().parents[2] / "conf")
SMALL = ["dataset.source.clips_per_class=10", "judge.clips_per_class=10", "dataset.batch_size=4", "dataset.num_workers=0",
         "classifier.epochs=1", "classifier.vae_domain.epochs=1", "classifier.tsm.epochs=1", "autoencoder.epochs=1",
         "vae.epochs=1", "judge.epochs=1", "classifier.vae_domain.introspection.rounds=1",
         "classifier.vae_domain.introspection.iterations=2", "classifier.vae_domain.introspection.videos_per_target=1",
         "synthesis.iterations=2", "synthesis.method_defs.best.iterations=2", "synthesis.videos_per_target=1",
         "synthesis.mp4=false", "+trainer.enable_progress_bar=false", "+trainer.enable_model_summary=false"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 487 s on a 2-core AMD EPYC
def test_every_stage_runs_at_the_papers_geometry(tmp_path):
    base = [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out", f"work_dir={tmp_path}/work",
            "scale=paper", "stage=all"]
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("synth", overrides=base + SMALL)
    assert (cfg.classifier.module.net.pools, cfg.classifier.module.net.width) == (5, 1.0)
    run(cfg, overrides=["stage=all", "scale=paper", *SMALL])
    work = tmp_path / "work"
    for name in ("classifier", "classifier_robust", "autoencoder", "vae", "classifier_tsm", "classifier_vae_plain",
                 "classifier_vae", "judge"):
        assert (work / "checkpoints" / f"{name}.ckpt").is_file(), name
    for method in ("ours", "comparison", "best"):
        saved = torch.load(work / "synthesis" / method / "videos.pt", map_location="cpu", weights_only=False)
        assert saved["videos"].shape == (12, 3, 16, 96, 128), method  # 11 classes and car_right+rocket_up
        assert torch.isfinite(saved["videos"]).all() and saved["videos"].abs().max() <= 1, method
    table = json.loads((work / "table.json").read_text())
    assert "128x96" in (work / "table.md").read_text()
    rows = {row["method"]: row for row in table["rows"]}
    assert set(rows) == {"ours", "comparison", "best"}
    assert all(row["videos"] == 12 and row["single_label_videos"] == 11 for row in rows.values())
    assert all(0 <= row["accuracy"] <= 1 for row in rows.values())
    timings = json.loads((work / "timings.json").read_text())
    assert set(timings) >= {"classifier", "autoencoder", "judge", "synthesis", "evaluate", "table", "total"}
