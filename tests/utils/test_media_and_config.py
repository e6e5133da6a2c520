import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from videogen3d.utils import loggers
from videogen3d.utils.config import check_config, instantiate_group
from videogen3d.utils.io import atomic_path
from videogen3d.utils.media import frame_grid, side_by_side, to_uint8_frames


def test_to_uint8_frames_maps_range_and_layout():
    v = torch.stack([torch.full((2, 4, 5), -1.0), torch.zeros(2, 4, 5), torch.ones(2, 4, 5)])  # (C=3, T, H, W)
    f = to_uint8_frames(v)
    assert f.shape == (2, 4, 5, 3) and f.dtype == np.uint8
    assert f[0, 0, 0].tolist() == [0, 128, 255]
    grey = to_uint8_frames(torch.zeros(1, 2, 4, 5))
    assert grey.shape == (2, 4, 5, 3)


def test_side_by_side_and_grid_geometry():
    a, b = torch.full((3, 4, 8, 6), -1.0), torch.ones(3, 4, 8, 6)
    sbs = side_by_side([a, b], gap=2)
    assert sbs.shape == (4, 8, 6 + 2 + 6, 3)
    assert (sbs[:, :, :6] == 0).all() and (sbs[:, :, 6:8] == 255).all() and (sbs[:, :, 8:] == 255).all()
    grid = frame_grid(torch.stack([a, b]), gap=1)
    assert grid.shape == (2 * 8 + 1, 4 * 6 + 3, 3)
    assert (grid[:8, :6] == 0).all() and (grid[9:, :6] == 255).all()
    with pytest.raises(ValueError, match="equal T and H"):
        side_by_side([a, torch.ones(3, 5, 8, 6)])


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "file.npy"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            np.save(tmp, np.arange(3))
            raise RuntimeError("writer failed")
    assert not target.exists() and list((tmp_path / "sub").iterdir()) == []
    with atomic_path(target) as tmp:
        np.save(tmp, np.arange(3))
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["file.npy"]


def test_check_config_names_missing_keys():
    cfg = OmegaConf.create({"dataset": {"cond_dir": "???", "target_dir": "???"}, "seed": 1})
    with pytest.raises(ValueError, match=r"dataset.cond_dir, dataset.target_dir"):
        check_config(cfg)
    check_config(OmegaConf.create({"seed": 1}))


def test_instantiate_group_builds_only_targets():
    group = OmegaConf.create({"a": {"_target_": "collections.OrderedDict"}, "off": None})
    built = instantiate_group(group)
    assert len(built) == 1 and type(built[0]).__name__ == "OrderedDict"
    assert instantiate_group(None) == []


def test_wandb_goes_offline_without_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("WANDB_MODE", "")
    assert not loggers.wandb_credentials_present()
    logger = loggers.wandb_logger(project="videogen3d-test", save_dir=str(tmp_path))
    assert logger._offline is True
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert loggers.wandb_credentials_present()
