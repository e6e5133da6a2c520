"""The report's table order and its Fréchet feature network's identity."""

from __future__ import annotations

from omegaconf import OmegaConf

from videogen3d.report.build import trial_order
from videogen3d.report.quality import _geometry_key


def test_rows_go_in_trial_order_not_hydras_glob_order():
    ids = ["A-1", "A-10", "A-11", "A-2", "B-1", None, "A-20", "A-3"]
    rows = sorted(({"experiment_id": i} for i in ids), key=trial_order)
    assert [r["experiment_id"] for r in rows] == ["A-1", "A-2", "A-3", "A-10", "A-11", "A-20", "B-1", None]


def test_one_feature_network_per_domain_whatever_the_clip_length():
    base = {"source": {"style": "stick", "num_sequences": 20}, "frame_size": 32, "frame_step": 1,
            "val_fraction": 0.1, "test_fraction": 0.1, "seed": 0, "clip_len": 9, "batch_size": 4}
    same = _geometry_key(OmegaConf.create({**base, "clip_len": 8, "batch_size": 8}))  # A-17's clips
    assert _geometry_key(OmegaConf.create(base)) == same
    assert _geometry_key(OmegaConf.create({**base, "frame_size": 64})) != same
    assert _geometry_key(OmegaConf.create({**base, "source": {"style": "stick", "num_sequences": 40}})) != same
