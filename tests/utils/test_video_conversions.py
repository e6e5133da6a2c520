"""The shared frame-size and pixel-range helpers (videogen3d.utils.video)."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from videogen3d.utils.video import frame_hw, uint8_to_unit, unit_to_uint8


def test_frame_hw_accepts_int_list_and_omegaconf_list():
    assert frame_hw(64) == (64, 64)
    assert frame_hw([48, 64]) == (48, 64)
    assert frame_hw(OmegaConf.create([24, 32])) == (24, 32)


@pytest.mark.parametrize("bad", [[1, 2, 3], "abc", None, [8, 8]])
def test_frame_hw_refuses_naming_the_key_and_value(bad):
    with pytest.raises(ValueError, match=r"dataset.frame_size must be .* got"):
        frame_hw(bad, min_side=16, name="dataset.frame_size")


def test_uint8_and_unit_range_round_trip_exactly():
    x = torch.arange(256, dtype=torch.uint8)
    unit = uint8_to_unit(x)
    assert unit.dtype == torch.float32 and unit.min() == -1 and unit.max() == 1
    assert torch.equal(unit_to_uint8(unit), x)
    assert torch.equal(unit_to_uint8(torch.tensor([-3.0, 3.0])), torch.tensor([0, 255], dtype=torch.uint8))
