"""VideoDataModule: uint8 loaders, float [-1, 1] on the device, splits by sequence, Hydra configs."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from videogen3d.data.datamodule import VideoDataModule
from videogen3d.data.frame_bank import FrameBank
from videogen3d.data.synthetic import SyntheticPairsSource

CONF = str(Path(__file__).resolve().parents[2] / "conf")


class BankSource:
    """An in-memory source: frame value = frame index, so clips reveal where they came from."""

    def __init__(self, lengths=(12,) * 10, labels=None, cond=True):
        n = sum(lengths)
        self.target = torch.arange(n).remainder(256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 16, 16, 3).clone()
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.tensor(lengths).cumsum(0)])
        self.labels, self.cond, self.loads = labels, cond, 0

    def load(self, data_dir):
        self.loads += 1
        return FrameBank(self.target, self.offsets, cond=255 - self.target if self.cond else None, labels=self.labels,
                         class_names=None if self.labels is None else ["a", "b"])


def dm(source=None, **kw):
    args = dict(clip_len=4, frame_size=16, batch_size=4, val_fraction=0.2, test_fraction=0.2, seed=0)
    return VideoDataModule(source or BankSource(), **{**args, **kw})


def test_batches_dtypes_shapes_and_ranges():
    d = dm()
    d.setup("fit")
    batch = next(iter(d.train_dataloader()))
    assert set(batch) == {"target", "cond"} and batch["target"].dtype == torch.uint8
    assert batch["target"].shape == (4, 3, 4, 16, 16)
    # consecutive frames of one sequence, and the cond is frame-aligned
    first = batch["target"][:, 0, :, 0, 0].long()
    assert (first[:, 1:] - first[:, :-1] == 1).all() and torch.equal(batch["cond"], 255 - batch["target"])
    out = d.on_after_batch_transfer(batch, 0)
    assert out["target"].dtype == torch.float32 and -1 <= out["target"].min() and out["target"].max() <= 1
    assert torch.allclose(out["target"], batch["target"].float() / 127.5 - 1)
    val = next(iter(d.val_dataloader()))
    assert val["target"].shape == (4, 3, 4, 16, 16)
    assert d.has_condition and d.frame_size == (16, 16) and d.num_classes == 0 and d.fps == 25.0


def test_split_by_sequence_without_overlap_and_deterministic():
    d = dm()
    d.setup()
    names = {k: set(b.names) for k, b in d.banks.items()}
    assert len(names["train"]) == 6 and len(names["val"]) == 2 and len(names["test"]) == 2
    assert not (names["train"] & names["val"] or names["train"] & names["test"] or names["val"] & names["test"])
    assert set().union(*names.values()) == set(d.bank.names)
    again = dm()
    again.setup()
    assert {k: b.names for k, b in again.banks.items()} == {k: b.names for k, b in d.banks.items()}
    # validation windows: every clip_len-th window of the val sequences only
    val_frames = torch.cat([b["target"][:, 0, :, 0, 0].flatten() for b in d.val_dataloader()])
    val_bank = d.banks["val"].target[:, 0, 0, 0]
    assert set(val_frames.tolist()) <= set(val_bank.tolist()) and len(val_frames) == 2 * 3 * 4


def test_training_clips_are_seeded_per_epoch_and_independent_of_workers():
    d = dm(train_clips_per_epoch=8)
    loader = d.train_dataloader()
    assert len(loader) == 2
    epoch0 = torch.cat([b["target"] for b in loader])
    loader.sampler.set_epoch(0)
    assert torch.equal(torch.cat([b["target"] for b in loader]), epoch0)
    loader.sampler.set_epoch(1)
    assert not torch.equal(torch.cat([b["target"] for b in loader]), epoch0)
    workers = dm(train_clips_per_epoch=8, num_workers=1).train_dataloader()
    assert torch.equal(torch.cat([b["target"] for b in workers]), epoch0)


def test_labelled_bank_gives_int64_labels_and_stratified_splits():
    src = BankSource(lengths=(8,) * 10, labels=[0, 1] * 5, cond=False)
    d = dm(src)
    d.setup()
    assert not d.has_condition and d.num_classes == 2 and d.class_names == ["a", "b"]
    assert sorted(d.banks["val"].labels.tolist()) == [0, 1] and sorted(d.banks["test"].labels.tolist()) == [0, 1]
    batch = next(iter(d.train_dataloader()))
    assert set(batch) == {"target", "label"} and batch["label"].dtype == torch.int64 and batch["label"].shape == (4,)
    out = d.on_after_batch_transfer(batch, 0)
    assert out["label"].dtype == torch.int64 and torch.equal(out["label"], batch["label"])
    # each clip's label is its sequence's label
    seq = batch["target"][:, 0, 0, 0, 0].long() // 8
    assert torch.equal(batch["label"], seq % 2)


def test_bank_on_device_cuts_the_same_clips_after_transfer():
    plain, fast = dm(train_clips_per_epoch=8), dm(train_clips_per_epoch=8, bank_on_device=True)
    a = plain.on_after_batch_transfer(next(iter(plain.train_dataloader())), 0)
    raw = next(iter(fast.train_dataloader()))
    assert set(raw) == {"start", "split"}
    b = fast.on_after_batch_transfer(raw, 0)
    assert torch.equal(a["target"], b["target"]) and torch.equal(a["cond"], b["cond"])


def test_sample_batch_and_bad_geometry():
    d = dm()
    sample = d.sample_batch("val", n=3)
    assert sample["target"].shape == (3, 3, 4, 16, 16) and sample["target"].dtype == torch.float32
    with pytest.raises(ValueError, match=r"\(16, 16\).*frame_size=\[32, 32\]"):
        dm(frame_size=32).setup()
    with pytest.raises(ValueError, match="clip_len=20.*longest sequence has 12"):
        next(iter(dm(clip_len=20).train_dataloader()))
    with pytest.raises(ValueError, match="training would get none"):
        dm(BankSource(lengths=(12,) * 2), val_fraction=0.4, test_fraction=0.4).setup()


def test_prepare_data_caches_and_setup_reads_it(tmp_path):
    src = SyntheticPairsSource(num_sequences=5, num_frames=6, frame_size=16)
    d = VideoDataModule(src, tmp_path, clip_len=3, frame_size=16, batch_size=2, val_fraction=0.2, test_fraction=0.2)
    d.prepare_data()
    assert src.cache_path(tmp_path).is_file()
    d.setup("fit")
    assert d.bank.num_sequences == 5 and torch.equal(d.bank.target, src.render().target)


class _Probe(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def training_step(self, batch, _):
        self.seen.append((batch["target"].dtype, float(batch["target"].min()), float(batch["target"].max())))
        return (batch["target"].mean() - self.w) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_runs_under_a_lightning_trainer(tmp_path):
    model = _Probe()
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    trainer.fit(model, datamodule=dm())
    assert len(model.seen) == 2 and all(d == torch.float32 and -1 <= lo and hi <= 1 for d, lo, hi in model.seen)


@pytest.mark.parametrize("name", ["stick_to_puppet", "puppet_to_puppet"])
def test_synthetic_configs_instantiate(name, tmp_path):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("train", overrides=[f"dataset={name}", "dataset.frame_size=16", "dataset.clip_len=3",
                                          "dataset.source.num_sequences=5", "dataset.source.num_frames=6",
                                          "dataset.batch_size=8", f"paths.data_dir={tmp_path}"])
    assert cfg.dataset.clip_len == 3 and cfg.dataset.size == "small" and cfg.dataset.num_workers == 0
    d = instantiate(cfg.dataset)
    assert isinstance(d, VideoDataModule) and d.has_condition
    assert next(iter(d.train_dataloader()))["cond"].shape == (8, 3, 3, 16, 16)


def test_video_pairs_config_requires_folders_and_reads_them(tmp_path, make_video):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("train", overrides=["dataset=video_pairs"])
        with pytest.raises(ValueError, match=r"dataset.source.cond_dir=.*dataset.source.manifest"):
            instantiate(cfg.dataset).prepare_data()  # neither folders nor a manifest
        for stem in "abcde":
            make_video(f"c/{stem}.mp4", n=6)
            make_video(f"t/{stem}.mp4", n=6)
        cfg = compose("train", overrides=["dataset=video_pairs", f"dataset.source.cond_dir={tmp_path / 'c'}",
                                          f"dataset.source.target_dir={tmp_path / 't'}", "dataset.frame_size=32",
                                          "dataset.clip_len=4", f"paths.data_dir={tmp_path / 'cache'}"])
    d = instantiate(cfg.dataset)
    d.prepare_data()
    batch = d.sample_batch("train", n=2)
    assert batch["cond"].shape == (2, 3, 4, 32, 32) and d.fps == pytest.approx(10.0)
