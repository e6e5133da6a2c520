"""The loaders fetch a batch at a time (``ClipDataset.__getitems__``) and give the very batches the
per-sample path (``__getitem__`` + ``default_collate``) gives: same clips, same order, same dtypes."""

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from videogen3d.data import datamodule as dm_module
from videogen3d.data.datamodule import pass_batch

from test_datamodule import BankSource, dm


class PerSample(Dataset):
    """``data`` without ``__getitems__``: DataLoader falls back to one ``__getitem__`` per index."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


def per_sample(loader: DataLoader) -> DataLoader:
    """The same loader (dataset, sampler, batch size, drop_last) on the per-sample path, default collate."""
    return DataLoader(PerSample(loader.dataset), batch_size=loader.batch_size, sampler=loader.sampler,
                      drop_last=loader.drop_last)


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert set(x) == set(y)
        for k in x:
            assert x[k].dtype == y[k].dtype and torch.equal(x[k], y[k]), k


@pytest.mark.parametrize("kind", ["paired", "labelled", "starts_only"])
def test_batched_loaders_equal_the_per_sample_path(kind):
    if kind == "labelled":
        d = dm(BankSource(lengths=(8,) * 10, labels=[0, 1] * 5, cond=False), train_clips_per_epoch=10)
    else:
        d = dm(train_clips_per_epoch=10, bank_on_device=kind == "starts_only")
    for stage in ("train", "val", "test"):
        loader = getattr(d, f"{stage}_dataloader")()
        assert loader.collate_fn is pass_batch
        if stage == "train":  # two epochs of the seeded sampler: the same draw for both paths
            got = [list(loader), list(loader)]
            loader.sampler.set_epoch(0)
            want = [list(per_sample(loader)), list(per_sample(loader))]
            assert not torch.equal(got[0][0][next(iter(got[0][0]))], got[1][0][next(iter(got[1][0]))])
            for g, w in zip(got, want):
                assert_same_batches(g, w)
        else:  # every window in order, the last batch short
            got, want = list(loader), list(per_sample(loader))
            assert_same_batches(got, want)
            n = len(loader.dataset)
            assert sum(len(next(iter(b.values()))) for b in got) == n
    if kind == "starts_only":  # and the clips cut after transfer are the paired path's
        batch = d.on_after_batch_transfer(next(iter(d.train_dataloader())), 0)
        assert batch["target"].shape == (4, 3, 4, 16, 16) and batch["target"].dtype == torch.float32


def test_one_gather_per_batch_not_per_clip(monkeypatch):
    calls = []
    real = dm_module.clip_item
    monkeypatch.setattr(dm_module, "clip_item", lambda bank, slider, start, **kw: calls.append(start.shape) or
                        real(bank, slider, start, **kw))
    d = dm(train_clips_per_epoch=12)
    batches = list(d.train_dataloader())
    assert len(batches) == 3 and calls == [torch.Size([4])] * 3


def test_resumed_loader_skips_the_done_batches_on_the_batched_path():
    """A mid-epoch resume (``resume_at``) continues with the clips the interrupted pass had not given."""
    d = dm(train_clips_per_epoch=12)
    full = list(d.train_dataloader())
    d2 = dm(train_clips_per_epoch=12)
    d2.load_state_dict({"epoch": 0, "batches_done": 1, "batch_size": 4})
    rest = list(d2.train_dataloader())
    assert_same_batches(rest, full[1:])


def test_float_batches_are_contiguous_and_equal_uint8_to_unit():
    from videogen3d.utils.video import uint8_to_unit

    d = dm(train_clips_per_epoch=8)
    raw = next(iter(d.train_dataloader()))
    out = d.on_after_batch_transfer(raw, 0)
    for k in ("target", "cond"):
        assert out[k].is_contiguous() and out[k].dtype == torch.float32
        assert torch.equal(out[k], uint8_to_unit(raw[k].contiguous()))  # bit for bit, not merely close
    assert torch.allclose(out["target"], -out["cond"], atol=1e-6)  # cond = 255 - target in BankSource
