"""VideoDataModule: clips cut from a frame bank by the frame slider, split by sequence.

The bank (rendered or decoded once by ``source``) is split by whole sequences, never by
frames, so no validation frame was seen in training. Training clips start at uniformly random
valid frames, drawn by a sampler seeded by ``(seed, epoch)`` in the main process (the same
clips whatever ``num_workers``); validation and test clips are every ``val_stride``-th window.
Loaders yield ``uint8 (B, 3, T, H, W)`` (strided views of one gather per bank);
``on_after_batch_transfer`` turns them into contiguous float [-1, 1] on the device.
``bank_on_device=True`` keeps the banks on the training device and cuts clips there (seed 000,
section 5.3: the slider that keeps the GPU busy); loaders then carry only window starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from videogen3d.data.cache import as_frame_size
from videogen3d.data.frame_bank import FrameBank
from videogen3d.data.slider import FrameSlider

log = logging.getLogger(__name__)

STAGES = ("train", "val", "test")


def held_out_counts(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """How many of a group's ``n`` sequences go to validation and to test (:meth:`VideoDataModule.split_sequences`
    splits each class so): ``round(n * fraction)`` each, Python's rounding (half to even: 5 x 0.1 gives 0)."""
    return round(n * float(val_fraction)), round(n * float(test_fraction))


class ClipDataset(Dataset):
    """Clips of ``bank``: item ``i`` is the window at ``starts[i]`` (or, without ``starts``, at frame ``i``).

    ``DataLoader`` fetches a whole batch through ``__getitems__`` (its auto-collation calls it when the
    dataset defines it): one ``clip_item`` call, i.e. one ``index_select`` per bank for all the batch's
    clips, already stacked; :func:`pass_batch` is then the loader's collate. The per-sample
    ``__getitem__`` + ``default_collate`` gives equal batches (a test checks) in ~1.5x the time on a CPU
    (``python -m videogen3d.bench loader``, rows datamodule vs per_sample).
    """

    def __init__(
        self, bank: FrameBank, slider: FrameSlider, starts: torch.Tensor | None = None, split: int = 0,
        starts_only: bool = False,
    ):
        self.bank, self.slider, self.starts, self.split, self.starts_only = bank, slider, starts, split, starts_only

    def __len__(self) -> int:
        return len(self.starts) if self.starts is not None else self.bank.num_frames

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        start = torch.as_tensor(int(self.starts[i]) if self.starts is not None else int(i))
        if self.starts_only:
            return {"start": start, "split": torch.tensor(self.split)}
        return clip_item(self.bank, self.slider, start, contiguous=False)

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The batch of items ``indices``, stacked: the same tensors ``default_collate`` would build."""
        i = torch.as_tensor(indices, dtype=torch.int64).reshape(-1)
        start = self.starts[i] if self.starts is not None else i  # (B,)
        if self.starts_only:
            return {"start": start, "split": torch.full_like(start, self.split)}
        return clip_item(self.bank, self.slider, start, contiguous=False)


def pass_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Collate of a loader over :class:`ClipDataset`: ``__getitems__`` already returned the stacked batch."""
    return batch


def clip_item(bank: FrameBank, slider: FrameSlider, start: torch.Tensor, contiguous: bool = True
              ) -> dict[str, torch.Tensor]:
    """Uint8 clips ``(..., 3, T, H, W)`` of the window(s) starting at ``start`` (a scalar or ``(B,)``).

    ``contiguous=False`` (the loaders): clips may be strided views, laid out by :func:`to_unit`."""
    idx = slider.expand(start.reshape(-1).to(bank.offsets.device))  # (B, T)
    item = {"target": slider.clips(bank.target, idx, contiguous)}
    if bank.cond is not None:
        item["cond"] = slider.clips(bank.cond, idx, contiguous)
    if bank.labels is not None:
        item["label"] = bank.labels[torch.searchsorted(bank.offsets, idx[:, 0].contiguous(), right=True) - 1]
    if start.dim() == 1:
        return item
    return {k: v.reshape(tuple(start.shape) + tuple(v.shape[1:])) for k, v in item.items()}


def to_unit(clip: torch.Tensor) -> torch.Tensor:
    """Uint8 ``[0, 255]`` of any strides -> contiguous float32 in [-1, 1]: ``uint8_to_unit``'s values, with
    the layout change of a strided clip done by the same pass that converts the dtype."""
    out = torch.empty(clip.shape, dtype=torch.float32, device=clip.device)
    return out.copy_(clip).div_(127.5).sub_(1.0)


class RandomWindowSampler(Sampler[int]):
    """``num_samples`` uniformly random valid window starts per epoch, seeded by ``(seed, epoch)``.

    Lightning calls ``set_epoch``; without it (e.g. under a distributed wrapper) the epoch
    advances by itself after each pass, so every pass still draws new clips.
    ``resume_at(epoch, done)`` makes the pass of ``epoch`` skip its first ``done`` starts (once):
    a run resumed mid-epoch continues with the very clips the interrupted run had not yet seen.
    """

    def __init__(self, slider: FrameSlider, offsets: torch.Tensor, num_samples: int, seed: int = 0):
        self.slider, self.offsets = slider, offsets.cpu()
        self.num_samples, self.seed, self.epoch = int(num_samples), int(seed), 0
        self._resume: tuple[int, int] | None = None

    def resume_at(self, epoch: int, done: int) -> None:
        self._resume = (int(epoch), max(int(done), 0))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        starts = self.slider.random_starts(self.offsets, self.num_samples, g).tolist()
        if self._resume is not None and self._resume[0] == self.epoch:
            starts = starts[self._resume[1]:]  # __len__ stays num_samples: Lightning's batch count is the same
        self._resume = None
        self.epoch += 1
        return iter(starts)


class VideoDataModule(pl.LightningDataModule):
    """Paired (``cond`` -> ``target``), labelled (``target`` + ``label``) or plain video clips.

    ``source`` is any object with ``load(data_dir) -> FrameBank`` (built by Hydra). ``clip_len``,
    ``frame_size`` and ``size`` are the dataset config's top-level keys: ``frame_size`` is checked
    against the bank, ``size`` is only recorded (the source uses it).
    """

    def __init__(
        self,
        source,
        data_dir: str | os.PathLike | None = None,
        clip_len: int = 9,
        frame_size: int | tuple[int, int] = 64,
        stride: int = 1,
        frame_step: int = 1,
        val_stride: int | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        train_clips_per_epoch: int | None = None,
        seed: int = 0,
        pin_memory: bool = False,
        bank_on_device: bool = False,
        size: str | None = None,
    ):
        super().__init__()
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise ValueError(
                f"val_fraction={val_fraction} and test_fraction={test_fraction} must be >= 0 and sum to < 1"
            )
        if batch_size < 1 or num_workers < 0:
            raise ValueError(f"batch_size must be >= 1 and num_workers >= 0, got {batch_size}, {num_workers}")
        self.save_hyperparameters(ignore=["source"], logger=False)
        self.source, self.data_dir = source, None if data_dir is None else str(data_dir)
        self.clip_len, self._frame_size = int(clip_len), as_frame_size(frame_size)
        self.slider = FrameSlider(clip_len, stride, frame_step)
        self.eval_slider = FrameSlider(clip_len, val_stride or clip_len, frame_step)
        self.batch_size, self.num_workers, self.pin_memory = int(batch_size), int(num_workers), bool(pin_memory)
        self.val_fraction, self.test_fraction, self.seed = float(val_fraction), float(test_fraction), int(seed)
        self.train_clips_per_epoch, self.bank_on_device = train_clips_per_epoch, bool(bank_on_device)
        self.bank: FrameBank | None = None
        self.banks: dict[str, FrameBank] = {}
        self._device_banks: dict[tuple[int, str], FrameBank] = {}
        self._resume_state: dict | None = None

    # ------------------------------------------------------------------ data
    def prepare_data(self) -> None:
        """Render or decode the bank once and cache it under ``data_dir`` (Lightning: local rank 0)."""
        self.source.load(self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.bank is not None:
            return
        bank = self.source.load(self.data_dir)
        if bank.frame_size != self._frame_size:
            raise ValueError(
                f"the dataset's frames are {bank.frame_size} (H, W) but frame_size={list(self._frame_size)}; "
                f"set the dataset's frame_size to match its source"
            )
        self.bank = bank
        for name, seqs in zip(STAGES, self.split_sequences(bank)):
            self.banks[name] = bank.subset(seqs, channels_first=True)  # clips cut plane by plane
        sizes = {k: v.num_sequences for k, v in self.banks.items()}
        log.info("%d sequences, %d frames; split by sequence %s", bank.num_sequences, bank.num_frames, sizes)

    def split_sequences(self, bank: FrameBank) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Train/val/test sequence indices: a seeded shuffle, per class when the bank has labels."""
        g = torch.Generator().manual_seed(self.seed)
        groups = [torch.arange(bank.num_sequences)] if bank.labels is None else [
            torch.nonzero(bank.labels == c).flatten() for c in torch.unique(bank.labels)
        ]  # fmt: skip
        parts: list[list[torch.Tensor]] = [[], [], []]
        for seqs in groups:
            seqs = seqs[torch.randperm(len(seqs), generator=g)]
            n_val, n_test = held_out_counts(len(seqs), self.val_fraction, self.test_fraction)
            if len(seqs) - n_val - n_test < 1:
                raise ValueError(
                    f"{len(seqs)} sequence(s) cannot be split with val_fraction={self.val_fraction} and "
                    f"test_fraction={self.test_fraction}: training would get none; use more sequences"
                )
            parts[1].append(seqs[:n_val])
            parts[2].append(seqs[n_val : n_val + n_test])
            parts[0].append(seqs[n_val + n_test :])
        return tuple(torch.cat(p).sort().values for p in parts)  # type: ignore[return-value]

    @property
    def train_bank(self) -> FrameBank:
        self.setup()
        return self.banks["train"]

    # ------------------------------------------------------------------ loaders
    def dataset(self, stage: str) -> ClipDataset:
        """Train: clips keyed by start frame (a sampler draws them); val/test: every window."""
        self.setup()
        bank, split = self.banks[stage], STAGES.index(stage)
        starts = None if stage == "train" else self.eval_slider.starts(bank.offsets)
        return ClipDataset(bank, self.slider, starts, split, starts_only=self.bank_on_device)

    def _loader(self, stage: str) -> DataLoader | list:
        self.setup()
        if self.banks[stage].num_sequences == 0:
            return []
        data = self.dataset(stage)
        kwargs = dict(batch_size=self.batch_size, num_workers=self.num_workers, pin_memory=self.pin_memory,
                      persistent_workers=self.num_workers > 0, collate_fn=pass_batch)  # fmt: skip
        if stage != "train":
            return DataLoader(data, shuffle=False, **kwargs)
        offsets = self.banks["train"].offsets
        n = self.train_clips_per_epoch or self.slider.num_windows(offsets)
        sampler = RandomWindowSampler(self.slider, offsets, n, self.seed)
        if self._resume_state is not None:  # restored from a checkpoint saved mid-epoch
            sampler.resume_at(self._resume_state["epoch"], self._resume_state["batches_done"] * self.batch_size)
            self._resume_state = None
        return DataLoader(data, sampler=sampler, drop_last=n >= self.batch_size, **kwargs)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict:
        """Saved in every checkpoint (Lightning): which epoch and how many of its training batches were
        done, so a mid-epoch resume skips exactly those clips of the epoch's seeded draw."""
        trainer = self.trainer
        if trainer is None or trainer.state.fn != "fit":
            return {}
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        return {"epoch": int(trainer.current_epoch), "batches_done": int(done), "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        if int(state.get("batch_size", self.batch_size)) != self.batch_size:
            log.warning("resuming with batch_size %d (checkpoint: %s): the data order restarts at the epoch's "
                        "start", self.batch_size, state.get("batch_size"))
            return
        self._resume_state = {"epoch": int(state["epoch"]), "batches_done": int(state["batches_done"])}

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader | list:
        return self._loader("test")

    # ------------------------------------------------------------------ on the device
    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int = 0) -> dict:
        """Uint8 clips -> float32 in [-1, 1] on the batch's device; ``label`` stays int64."""
        if "start" in batch:  # bank_on_device: cut the clips here, from a device-resident bank
            bank = self._device_bank(int(batch["split"][0]), batch["start"].device)
            batch = clip_item(bank, self.slider, batch["start"], contiguous=False)
        return {k: v if k == "label" else to_unit(v) for k, v in batch.items()}

    def _device_bank(self, split: int, device: torch.device) -> FrameBank:
        key = (split, str(device))
        if key not in self._device_banks:
            self.setup()
            self._device_banks[key] = self.banks[STAGES[split]].to(device)
        return self._device_banks[key]

    def sample_batch(self, stage: str = "val", n: int = 4) -> dict[str, torch.Tensor]:
        """``n`` clips spread evenly over a split's windows, normalised (CPU): for media and notebooks."""
        if stage not in STAGES:
            raise ValueError(f"stage={stage!r}; expected one of {STAGES}")
        self.setup()
        bank = self.banks[stage]
        if bank.num_sequences == 0:
            raise ValueError(f"the {stage} split is empty (val_fraction/test_fraction = 0?)")
        starts = self.eval_slider.starts(bank.offsets)
        pick = torch.linspace(0, len(starts) - 1, min(n, len(starts))).round().long()
        return self.on_after_batch_transfer(clip_item(bank, self.slider, starts[pick]))

    # ------------------------------------------------------------------ facts
    def _fact(self, name: str, from_bank):
        if self.bank is None and hasattr(self.source, name):
            return getattr(self.source, name)
        self.setup()
        return from_bank(self.bank)

    @property
    def has_condition(self) -> bool:
        return bool(self._fact("has_condition", lambda b: b.cond is not None))

    @property
    def class_names(self) -> list[str] | None:
        names = self._fact("class_names", lambda b: b.class_names)
        return None if names is None else list(names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names or [])

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(height, width)``."""
        return self._frame_size

    @property
    def fps(self) -> float:
        return float(self._fact("fps", lambda b: b.fps))
