"""The frame traverse slider (seed 000, section 5.3): clips cut from a frame bank by index arithmetic.

The seed's first slider walked frames in a Python loop and starved the GPU; its second one
"reduced algorithm complexity" so the trainer kept the GPU busy. Here every window is built
with ``arange`` and broadcasting, on the device of ``offsets`` (CPU or a GPU-resident bank),
so sampling a batch of clips costs a handful of tensor ops whatever the batch size.
"""

from __future__ import annotations

import torch

__all__ = ["FrameSlider", "to_clip"]


class FrameSlider:
    """Windows of ``clip_len`` frames, ``frame_step`` apart, that never cross a sequence boundary.

    A window starting at frame ``s`` holds frames ``s, s + frame_step, ..., s + (clip_len - 1) * frame_step``;
    exhaustive windows start every ``stride`` frames from the first frame of each sequence.
    """

    def __init__(self, clip_len: int, stride: int = 1, frame_step: int = 1):
        for name, value in (("clip_len", clip_len), ("stride", stride), ("frame_step", frame_step)):
            if int(value) != value or value < 1:
                raise ValueError(f"FrameSlider {name} must be a positive integer, got {value!r}")
        self.clip_len, self.stride, self.frame_step = int(clip_len), int(stride), int(frame_step)
        self._steps: dict[torch.device, torch.Tensor] = {}

    @property
    def span(self) -> int:
        """Frames from a window's first to its last frame, inclusive."""
        return (self.clip_len - 1) * self.frame_step + 1

    def __repr__(self) -> str:
        return f"FrameSlider(clip_len={self.clip_len}, stride={self.stride}, frame_step={self.frame_step})"

    # ------------------------------------------------------------------ starts
    def _valid_counts(self, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per sequence: its first frame and how many start positions leave room for a window."""
        offsets = torch.as_tensor(offsets, dtype=torch.int64)
        lengths = offsets[1:] - offsets[:-1]
        n_starts = (lengths - self.span + 1).clamp(min=0)
        if len(lengths) == 0 or int(n_starts.max()) == 0:
            longest = int(lengths.max()) if len(lengths) else 0
            raise ValueError(
                f"no window fits: clip_len={self.clip_len} with frame_step={self.frame_step} spans "
                f"{self.span} frames but the longest sequence has {longest}; lower clip_len/frame_step "
                f"or use longer videos"
            )
        return offsets[:-1], n_starts

    def starts(self, offsets: torch.Tensor) -> torch.Tensor:
        """First frame of every exhaustive window, ``(W,)`` int64 on the device of ``offsets``."""
        first, n_starts = self._valid_counts(offsets)
        per_seq = (n_starts + self.stride - 1) // self.stride  # windows in each sequence
        total = int(per_seq.sum())
        seq = torch.repeat_interleave(torch.arange(len(per_seq), device=first.device), per_seq)  # (W,)
        before = torch.cumsum(per_seq, 0) - per_seq  # windows in earlier sequences
        k = torch.arange(total, device=first.device) - before[seq]  # window number within its sequence
        return first[seq] + k * self.stride

    def num_windows(self, offsets: torch.Tensor) -> int:
        _, n_starts = self._valid_counts(offsets)
        return int(((n_starts + self.stride - 1) // self.stride).sum())

    def random_starts(self, offsets: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` starts drawn uniformly over all valid start frames (every frame offset is equally likely)."""
        first, n_starts = self._valid_counts(offsets)
        device = first.device
        cum = torch.cumsum(n_starts, 0)
        gen_device = generator.device if generator is not None else device
        u = torch.randint(int(cum[-1]), (int(n),), generator=generator, device=gen_device).to(device)
        seq = torch.searchsorted(cum, u, right=True)  # which sequence holds draw u
        return first[seq] + u - (cum[seq] - n_starts[seq])

    # ------------------------------------------------------------------ windows
    def expand(self, starts: torch.Tensor) -> torch.Tensor:
        """``(n,)`` starts -> ``(n, clip_len)`` frame indices."""
        steps = self._steps.get(starts.device)
        if steps is None:  # made once per device: expand runs for every batch
            steps = torch.arange(self.clip_len, device=starts.device, dtype=torch.int64) * self.frame_step
            self._steps[starts.device] = steps
        return starts.unsqueeze(1) + steps

    def windows(self, offsets: torch.Tensor) -> torch.Tensor:
        """Every exhaustive window, ``(W, clip_len)`` int64."""
        return self.expand(self.starts(offsets))

    def random_windows(self, offsets: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` windows with uniformly random valid starts, ``(n, clip_len)`` int64 (the training offsets)."""
        return self.expand(self.random_starts(offsets, n, generator))

    @staticmethod
    def gather(frames: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``frames (N, H, W, C)`` and ``idx (n, clip_len)`` -> ``(n, clip_len, H, W, C)``.

        ``index_select`` on the flat index, not ``frames[idx]``: the same result, 48x faster per 9x64x64
        clip on a CPU (``python -m videogen3d.bench loader``, row index_select_slider)."""
        idx = idx.to(frames.device)
        return frames.index_select(0, idx.reshape(-1)).view(*idx.shape, *frames.shape[1:])

    def clips(self, frames: torch.Tensor, idx: torch.Tensor, contiguous: bool = True) -> torch.Tensor:
        """Gathered clips in model layout ``(n, C, T, H, W)`` (still in the bank's dtype).

        From frames stored channel-major (``FrameBank.subset(..., channels_first=True)``) the gather
        copies whole ``H x W`` planes and the layout change only swaps T and C, far cheaper than the
        per-pixel transpose row-major frames need (``python -m videogen3d.bench loader``, row
        row_major_bank). ``contiguous=False`` leaves that last copy to the caller: a ``(n, C, T, H, W)``
        view of the gathered frames, which a later dtype conversion can lay out in the same pass."""
        planes = frames.permute(0, 3, 1, 2)  # (N, C, H, W) view
        if not planes.is_contiguous():  # row-major frames
            clip = self.gather(frames, idx).movedim(-1, -4)
        else:
            flat = planes.index_select(0, idx.to(frames.device).reshape(-1))  # (n * T, C, H, W)
            clip = flat.view(idx.shape[0], idx.shape[1], *planes.shape[1:]).transpose(1, 2)
        return clip.contiguous() if contiguous else clip


def to_clip(frames: torch.Tensor) -> torch.Tensor:
    """``(..., T, H, W, C)`` -> ``(..., C, T, H, W)``, contiguous."""
    return frames.movedim(-1, -4).contiguous()
