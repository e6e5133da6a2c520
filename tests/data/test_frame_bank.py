"""FrameBank: validation, subsets by sequence, save/load round trips."""

import pytest
import torch

from videogen3d.data.frame_bank import FrameBank


def bank(labels=True):
    target = torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 2, 3, 3).clone()
    return FrameBank(target, [0, 5, 5, 12, 20], cond=255 - target, labels=[0, 1, 1, 0] if labels else None,
                     fps=12, class_names=["a", "b"] if labels else None)


def test_geometry_and_default_names():
    b = bank()
    assert b.num_sequences == 4 and b.num_frames == 20 and b.frame_size == (2, 3)
    assert b.lengths.tolist() == [5, 0, 7, 8] and b.names == ["seq00000", "seq00001", "seq00002", "seq00003"]


def test_subset_keeps_whole_sequences_in_order():
    s = bank().subset([3, 0])
    assert s.offsets.tolist() == [0, 8, 13]
    assert s.target[:, 0, 0, 0].tolist() == list(range(12, 20)) + list(range(0, 5))
    assert torch.equal(s.cond, 255 - s.target) and s.labels.tolist() == [0, 0]
    assert s.names == ["seq00003", "seq00000"] and s.class_names == ["a", "b"]
    assert bank().subset([]).num_frames == 0


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
@pytest.mark.parametrize("labels", [True, False])
def test_save_load_round_trip(tmp_path, suffix, labels):
    b = bank(labels)
    path = b.save(tmp_path / f"b{suffix}")
    c = FrameBank.load(path)
    assert torch.equal(c.target, b.target) and torch.equal(c.cond, b.cond) and torch.equal(c.offsets, b.offsets)
    assert (c.labels is None) == (not labels) and c.names == b.names and c.fps == 12.0
    assert c.class_names == b.class_names
    assert [p.name for p in tmp_path.iterdir()] == [f"b{suffix}"]


def test_bad_banks_are_refused_with_reasons(tmp_path):
    t = torch.zeros(10, 4, 4, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        FrameBank(t.float(), [0, 10])
    with pytest.raises(ValueError, match="frame count 10"):
        FrameBank(t, [0, 4, 9])
    with pytest.raises(ValueError, match="cond must match"):
        FrameBank(t, [0, 10], cond=t[:5])
    (tmp_path / "x.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="x.pt"):
        FrameBank.load(tmp_path / "x.pt")


def test_to_moves_every_tensor():
    b = bank().to("meta")
    assert all(x.device.type == "meta" for x in (b.target, b.offsets, b.cond, b.labels))


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_channels_first_subset_same_values_other_layout(tmp_path, suffix):
    b = bank()
    b.target = torch.randint(0, 256, b.target.shape, dtype=torch.uint8)  # distinct pixels: a wrong layout shows
    b.cond = 255 - b.target
    row, cf = b.subset([3, 0, 2]), b.subset([3, 0, 2], channels_first=True)
    assert not row.channels_first and cf.channels_first and cf.target.shape == row.target.shape
    assert torch.equal(cf.target, row.target) and torch.equal(cf.cond, row.cond)
    assert cf.target.permute(0, 3, 1, 2).is_contiguous() and cf.cond.permute(0, 3, 1, 2).is_contiguous()
    c = FrameBank.load(cf.save(tmp_path / f"cf{suffix}"))  # files keep the row-major layout
    assert c.target.is_contiguous() and not c.channels_first and torch.equal(c.target, row.target)
