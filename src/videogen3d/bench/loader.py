"""loader: clips/s of the training data path vs a decode-per-clip (decord) loader vs a plain gather.

Paths, each yielding float ``cond`` + ``target`` ``(B, 3, T, H, W)`` in [-1, 1] on ``--device``:

- ``datamodule``: the real ``VideoDataModule`` train loader + its ``on_after_batch_transfer`` (the dataset's
  ``__getitems__`` cuts each batch with one ``index_select`` per bank; no per-sample Python, no collate);
- ``bank_on_device``: the same with ``dataset.bank_on_device=true`` (loaders carry window starts; the
  clips are cut from a bank resident on ``--device``: one gather per batch; on a GPU, the fast path);
- ``per_sample``: the former path, kept to measure the batching: the same dataset and sampler, one
  ``__getitem__`` per clip and ``default_collate`` stacking them;
- ``row_major_bank``: the datamodule with its split banks stored row-major, as before: each clip's
  layout change ``(T, H, W, 3) -> (3, T, H, W)`` then transposes every pixel instead of swapping planes;
- ``plain_gather``: the floor: one batched ``index_select`` of the uint8 frames (row-major, as a source
  gives them) + ``.float()`` on the device, no layout change (the float clip keeps the gather's strides);
- ``decode_per_clip``: every clip decoded from H.264 MP4s (written once with PyAV) with decord
  (open + seek + decode per clip), the loader the bank replaces; it runs ``--decode-clips`` clips.

All paths see the same window starts (the train sampler's). Rounds interleave the paths.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from videogen3d.bench.common import build_datamodule, compose, data_dir, to_device
from videogen3d.bench.runner import Report, interleaved, median, sync
from videogen3d.data.slider import FrameSlider

TINY_SIZES = {"batches": 3, "decode_clips": 4, "rounds": 1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batches", type=int, default=50, help="batches per path per round")
    p.add_argument("--decode-clips", type=int, default=40, help="clips the decord path decodes per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are reported)")
    p.add_argument("--warmup-rounds", type=int, default=1,
                   help="untimed rounds first (a path's first pass pays for first-touch page faults)")


def _batches(loader, n: int):
    """``n`` batches, restarting the loader (a new epoch) when it runs out."""
    got = 0
    while got < n:
        for batch in loader:
            yield batch
            got += 1
            if got >= n:
                return


def _clips_per_second(loader, dm, device: torch.device, n: int) -> float:
    """Clips/s of ``n`` batches of ``loader`` moved to ``device`` and made float by the datamodule."""
    clips, t0 = 0, time.perf_counter()
    for batch in _batches(loader, n):
        out = dm.on_after_batch_transfer(to_device(batch, device), 0)
        clips += len(out["target"])
    sync(device)
    return clips / (time.perf_counter() - t0)


def _loader_path(dm, device: torch.device, n: int):
    return lambda: _clips_per_second(dm.train_dataloader(), dm, device, n)


def _train_starts(dm, n: int) -> torch.Tensor:
    """The first ``n`` window starts the train sampler draws, over as many epochs as that takes (as the
    loader paths restart their loader), so every path cuts ``n`` clips a round."""
    sampler, starts = dm.train_dataloader().sampler, []
    while len(starts) < n:
        starts += list(iter(sampler))  # each pass is the next epoch's draw
    return torch.as_tensor(starts[:n])


def _gather_path(dm, device: torch.device, n_batches: int):
    bank, slider, b = dm.banks["train"], dm.slider, dm.batch_size
    starts = _train_starts(dm, n_batches * b)
    # the frames as a source gives them, row-major (N, H, W, 3): the datamodule's split banks are stored
    # channel-major, a layout choice of the data path measured here, not of the floor
    banks = (bank.cond.contiguous(), bank.target.contiguous())

    def go() -> float:
        clips, t0 = 0, time.perf_counter()
        for i in range(0, len(starts), b):
            idx = slider.expand(starts[i : i + b])  # (B, T)
            # (B, 3, T, H, W) uint8 views of one index_select each, then float; the batch is held until the
            # next one is made, as every path's consumer holds it (the allocator then sees the same pattern)
            batch = [FrameSlider.gather(frames, idx).permute(0, 4, 1, 2, 3).to(device, non_blocking=True)
                     .float().div_(127.5).sub_(1.0) for frames in banks]
            clips += len(batch[0])
        sync(device)
        return clips / (time.perf_counter() - t0)

    return go


class _PerSample(torch.utils.data.Dataset):
    """The datamodule's train dataset fetched one clip at a time (``__getitem__`` + ``default_collate``):
    the path the batched ``__getitems__`` replaced, kept here to measure what the batching buys."""

    def __init__(self, data) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.data[i]


def _per_sample_path(dm, device: torch.device, n: int):
    loader = dm.train_dataloader()
    per_sample = torch.utils.data.DataLoader(_PerSample(loader.dataset), sampler=loader.sampler,
                                             batch_size=dm.batch_size, drop_last=loader.drop_last)
    return lambda: _clips_per_second(per_sample, dm, device, n)


def _row_major_path(cfg, device: torch.device, n: int):
    """The datamodule with its split banks stored row-major ``(N, H, W, 3)``, as before the channel-major split."""
    from dataclasses import replace

    dm = build_datamodule(cfg, bank_on_device=False)
    dm.banks = {k: replace(b, target=b.target.contiguous(), cond=None if b.cond is None else b.cond.contiguous())
                for k, b in dm.banks.items()}
    return _loader_path(dm, device, n)


def _write_mp4s(dm, folder: Path) -> list[tuple[Path, Path]]:
    from videogen3d.data.video_io import write_video

    bank = dm.banks["train"]
    files = []
    for s in range(bank.num_sequences):
        a, z = int(bank.offsets[s]), int(bank.offsets[s + 1])
        pair = (folder / f"{s:04d}_cond.mp4", folder / f"{s:04d}_target.mp4")
        write_video(pair[0], bank.cond[a:z].contiguous().numpy(), bank.fps)
        write_video(pair[1], bank.target[a:z].contiguous().numpy(), bank.fps)
        files.append(pair)
    return files


def _decode_path(dm, device: torch.device, files: list[tuple[Path, Path]], n_clips: int):
    import decord

    bank, slider, b = dm.banks["train"], dm.slider, dm.batch_size
    starts = _train_starts(dm, n_clips)
    seq = torch.searchsorted(bank.offsets, starts, right=True) - 1
    local = (starts - bank.offsets[seq]).tolist()

    def decode(path: Path, first: int) -> torch.Tensor:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)  # open per clip
        frames = reader.get_batch(list(range(first, first + slider.span, slider.frame_step))).asnumpy()
        return torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)  # (3, T, H, W) uint8

    def go() -> float:
        clips, t0 = 0, time.perf_counter()
        for i in range(0, len(starts), b):
            items = [(decode(files[int(s)][0], f), decode(files[int(s)][1], f))
                     for s, f in zip(seq[i : i + b].tolist(), local[i : i + b])]
            batch = [torch.stack([it[k] for it in items]).to(device).float().div_(127.5).sub_(1.0) for k in range(2)]
            clips += len(batch[0])
        sync(device)
        return clips / (time.perf_counter() - t0)

    return go


def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _counting(fn, clips: int, faults: list[float], cpu_ms: list[float]):
    """``fn`` that also appends the minor page faults during the call to ``faults`` and the process CPU
    time per clip (ms; ``clips`` clips a call) to ``cpu_ms``: what the path itself spent, which a busy
    neighbour on a shared machine disturbs far less than the wall clock."""

    def go() -> float:
        before, t0 = _minor_faults(), time.process_time()
        rate = fn()
        cpu_ms.append(1000 * (time.process_time() - t0) / clips)
        faults.append(float(_minor_faults() - before))
        return rate

    return go


def run(args: argparse.Namespace, device: torch.device) -> Report:
    if args.tiny:
        for k, v in TINY_SIZES.items():
            setattr(args, k, v)
    cfg = compose(args.overrides, data_dir(args.data_dir), tiny=args.tiny)
    dm = build_datamodule(cfg, bank_on_device=False)
    dm_dev = build_datamodule(cfg, bank_on_device=True)
    with tempfile.TemporaryDirectory(prefix="videogen3d-bench-mp4-") as tmp:
        t0 = time.perf_counter()
        files = _write_mp4s(dm, Path(tmp))
        write_s = time.perf_counter() - t0
        paths = {
            "datamodule": _loader_path(dm, device, args.batches),
            "bank_on_device": _loader_path(dm_dev, device, args.batches),
            "plain_gather": _gather_path(dm, device, args.batches),
            "per_sample": _per_sample_path(dm, device, args.batches),
            "row_major_bank": _row_major_path(cfg, device, args.batches),
            "decode_per_clip": _decode_path(dm, device, files, args.decode_clips),
        }
        if args.warmup_rounds > 0:
            interleaved(paths, args.warmup_rounds)
        faults: dict[str, list[float]] = {k: [] for k in paths}
        cpu: dict[str, list[float]] = {k: [] for k in paths}
        clips = {k: args.decode_clips if k == "decode_per_clip" else args.batches * dm.batch_size for k in paths}
        rates = interleaved({k: _counting(fn, clips[k], faults[k], cpu[k]) for k, fn in paths.items()}, args.rounds)
    med = {k: median(v) for k, v in rates.items()}
    names = {"datamodule": "VideoDataModule loader (bank in host memory)",
             "bank_on_device": f"VideoDataModule, bank_on_device=true (bank on {device.type})",
             "plain_gather": "plain batched uint8 gather (index_select) + float",
             "per_sample": "same loader, per-sample __getitem__ + default_collate (the former fetch)",
             "row_major_bank": "same loader, split banks stored row-major (N, H, W, 3) (the former layout)",
             "decode_per_clip": "decode per clip (decord)"}
    cpu_med = {k: median(v) for k, v in cpu.items()}
    report = Report("loader", ["path", "clips/s", "ms/clip", "x plain gather (time)", "x decode per clip (speed)",
                               "CPU ms/clip", "x plain gather (CPU time)"])
    for key, rate in med.items():
        report.rows.append({"path": names[key], "key": key, "clips/s": rate, "ms/clip": 1000 / rate,
                            "x plain gather (time)": med["plain_gather"] / rate,
                            "x decode per clip (speed)": rate / med["decode_per_clip"],
                            "CPU ms/clip": cpu_med[key],
                            "x plain gather (CPU time)": cpu_med[key] / cpu_med["plain_gather"],
                            "per_round_cpu_ms_per_clip": cpu[key],
                            "per_round_clips_per_s": rates[key],
                            "minor_page_faults_per_round": faults[key]})
    ds = cfg.dataset
    report.settings = {"batch_size": dm.batch_size, "clip_len": dm.clip_len, "frame_size": list(dm.frame_size),
                       "batches_per_round": args.batches, "decode_clips_per_round": args.decode_clips,
                       "rounds": args.rounds, "warmup_rounds": args.warmup_rounds,
                       "train_sequences": dm.banks["train"].num_sequences,
                       "num_workers": int(ds.get("num_workers", 0)), "overrides": list(args.overrides)}
    report.extra = {"mp4_write_seconds": write_s,
                    "datamodule_vs_per_sample": med["datamodule"] / med["per_sample"],
                    "goal_cpu_datamodule_within_1.3x_plain_gather": med["plain_gather"] / med["datamodule"] <= 1.3,
                    "goal_cpu_datamodule_within_1.3x_plain_gather_by_cpu_time":
                        cpu_med["datamodule"] / cpu_med["plain_gather"] <= 1.3,
                    "bank_on_device_vs_decode": med["bank_on_device"] / med["decode_per_clip"]}
    report.notes.append("Medians of interleaved rounds; 'x plain gather' is the path's time per clip over the "
                        "plain gather's (1.0 = the floor).")
    report.notes.append("Each path's minor page faults per round are in the JSON: fresh float batches that the "
                        "allocator takes from the OS cost page faults, which vary with the allocation pattern "
                        "and the machine's load and can move these sub-millisecond figures more than the code does.")
    return report
