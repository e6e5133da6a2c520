"""FrameBank: every frame of a dataset, decoded or rendered once, as one ``uint8`` tensor.

Sequences (videos) are stored back to back; ``offsets`` marks where each begins, so clips are
cut by index arithmetic (:class:`videogen3d.data.slider.FrameSlider`), never by re-decoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from videogen3d.utils.io import atomic_path

__all__ = ["FrameBank"]


@dataclass
class FrameBank:
    """Frames of ``S`` sequences stored back to back.

    ``target``: ``uint8 (N, H, W, 3)``; sequence ``s`` spans ``offsets[s]:offsets[s + 1]``.
    ``cond``: the frame-aligned condition video (paired datasets) or ``None``.
    ``labels``: ``int64 (S,)`` class of each sequence (labelled datasets) or ``None``.
    """

    target: torch.Tensor
    offsets: torch.Tensor
    cond: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    names: list[str] = field(default_factory=list)
    fps: float = 25.0
    class_names: list[str] | None = None

    def __post_init__(self) -> None:
        self.target = torch.as_tensor(self.target)
        self.offsets = torch.as_tensor(self.offsets, dtype=torch.int64)
        if self.target.dtype != torch.uint8 or self.target.ndim != 4 or self.target.shape[-1] != 3:
            got = f"{self.target.dtype} {tuple(self.target.shape)}"
            raise ValueError(f"FrameBank.target must be uint8 (N, H, W, 3), got {got}")
        values = self.offsets.device.type != "meta"  # meta tensors (shape-only tests) hold no values
        if self.offsets.ndim != 1 or len(self.offsets) < 1 or (values and int(self.offsets[0]) != 0):
            raise ValueError(f"FrameBank.offsets must be int64 (S + 1,) starting at 0, got {self.offsets.tolist()[:8]}")
        if values and (int(self.offsets[-1]) != len(self.target) or bool((self.offsets[1:] < self.offsets[:-1]).any())):
            raise ValueError(
                f"FrameBank.offsets must rise from 0 to the frame count {len(self.target)}, "
                f"got {self.offsets.tolist()[:8]}... ending at {int(self.offsets[-1])}"
            )
        if self.cond is not None:
            self.cond = torch.as_tensor(self.cond)
            if self.cond.shape != self.target.shape or self.cond.dtype != torch.uint8:
                raise ValueError(
                    f"FrameBank.cond must match target {tuple(self.target.shape)} uint8, "
                    f"got {self.cond.dtype} {tuple(self.cond.shape)}"
                )
        if self.labels is not None:
            self.labels = torch.as_tensor(self.labels, dtype=torch.int64)
            if self.labels.shape != (self.num_sequences,):
                raise ValueError(f"FrameBank.labels must be ({self.num_sequences},), got {tuple(self.labels.shape)}")
        self.names = list(self.names) or [f"seq{s:05d}" for s in range(self.num_sequences)]
        if len(self.names) != self.num_sequences:
            raise ValueError(f"FrameBank.names has {len(self.names)} entries for {self.num_sequences} sequences")
        self.fps = float(self.fps)

    # ------------------------------------------------------------------ geometry
    @property
    def num_sequences(self) -> int:
        return len(self.offsets) - 1

    @property
    def num_frames(self) -> int:
        return len(self.target)

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(height, width)`` of every frame."""
        return int(self.target.shape[1]), int(self.target.shape[2])

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    @property
    def device(self) -> torch.device:
        return self.target.device

    def __len__(self) -> int:
        return self.num_frames

    # ------------------------------------------------------------------ views
    @property
    def channels_first(self) -> bool:
        """Whether the frames are stored as ``(N, 3, H, W)`` in memory (still indexed ``(N, H, W, 3)``)."""
        return self.target.permute(0, 3, 1, 2).is_contiguous()

    def subset(self, seq_indices, channels_first: bool = False) -> FrameBank:
        """A new bank holding only the given sequences (in the given order): splits are by sequence.

        ``channels_first``: store the new bank's frames channel-major (same shape and values, other
        strides), so that cutting a ``(3, T, H, W)`` clip moves whole ``H x W`` planes instead of
        transposing every pixel (:meth:`FrameSlider.clips`; the loader's training path)."""
        seq = torch.as_tensor(seq_indices, dtype=torch.int64, device=self.offsets.device).reshape(-1)
        if len(seq) and (int(seq.min()) < 0 or int(seq.max()) >= self.num_sequences):
            raise IndexError(f"sequence indices must lie in [0, {self.num_sequences}), got {seq.tolist()}")
        starts, lengths = self.offsets[seq], self.lengths[seq]
        new_offsets = torch.zeros(len(seq) + 1, dtype=torch.int64, device=self.offsets.device)
        new_offsets[1:] = torch.cumsum(lengths, 0)
        # frame index of every kept frame, without a Python loop over frames
        seq_of = torch.repeat_interleave(torch.arange(len(seq), device=seq.device), lengths)
        frame_idx = starts[seq_of] + torch.arange(int(new_offsets[-1]), device=seq.device) - new_offsets[seq_of]
        idx = frame_idx.to(self.target.device)
        ids = seq.tolist()

        def take(frames: torch.Tensor) -> torch.Tensor:
            if not channels_first:
                return frames[idx]
            return frames.permute(0, 3, 1, 2).index_select(0, idx).permute(0, 2, 3, 1)  # (n, H, W, 3) view

        return replace(
            self,
            target=take(self.target),
            offsets=new_offsets,
            cond=None if self.cond is None else take(self.cond),
            labels=None if self.labels is None else self.labels[seq.to(self.labels.device)],
            names=[self.names[i] for i in ids],
        )

    def to(self, device: str | torch.device) -> FrameBank:
        return replace(
            self,
            target=self.target.to(device),
            offsets=self.offsets.to(device),
            cond=None if self.cond is None else self.cond.to(device),
            labels=None if self.labels is None else self.labels.to(device),
        )

    # ------------------------------------------------------------------ files
    def _state(self) -> dict:
        return {
            "target": self.target.cpu().contiguous(),  # files always hold (N, H, W, 3) row-major frames
            "offsets": self.offsets.cpu(),
            "cond": None if self.cond is None else self.cond.cpu().contiguous(),
            "labels": None if self.labels is None else self.labels.cpu(),
            "names": list(self.names),
            "fps": float(self.fps),
            "class_names": None if self.class_names is None else list(self.class_names),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the bank uncompressed (``.npz`` with numpy, anything else with ``torch.save``), atomically."""
        path = Path(path)
        state = self._state()
        with atomic_path(path) as tmp:
            if path.suffix == ".npz":
                arrays = {k: v.numpy() for k, v in state.items() if isinstance(v, torch.Tensor)}
                arrays["names"] = np.array(state["names"], dtype=str)
                arrays["fps"] = np.array(state["fps"])
                if state["class_names"] is not None:
                    arrays["class_names"] = np.array(state["class_names"], dtype=str)
                with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a str name
                    np.savez(f, **arrays)
            else:
                torch.save(state, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FrameBank:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no frame bank at {str(path)!r}")
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as z:
                    state = {k: z[k] for k in z.files}
                tensors = {k: torch.from_numpy(state[k]) for k in ("target", "offsets", "cond", "labels") if k in state}
                return cls(
                    **tensors,
                    names=[str(n) for n in state["names"]],
                    fps=float(state["fps"]),
                    class_names=[str(n) for n in state["class_names"]] if "class_names" in state else None,
                )
            return cls(**torch.load(path, map_location="cpu", weights_only=True))
        except Exception as exc:  # truncated, foreign or corrupt: torch/numpy raise many kinds
            raise ValueError(f"cannot load frame bank {str(path)!r} ({exc}); delete it to rebuild") from exc
