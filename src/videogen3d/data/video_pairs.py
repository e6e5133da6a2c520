"""Frame banks from the user's own video files: condition/target pairs, or class folders.

Files are decoded once (decord, a reader per file inside each worker thread), resized to
``frame_size`` (squashed to it; crop beforehand to keep the aspect ratio), and cached as a
:class:`FrameBank` keyed by file names, sizes and modification times.
"""

from __future__ import annotations

import csv
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from videogen3d.data.cache import as_frame_size, cache_key, load_or_build
from videogen3d.data.frame_bank import FrameBank
from videogen3d.data.video_io import VideoReadError, read_video

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
ON_BAD_FILE = ("error", "skip")


def list_videos(folder: str | os.PathLike, extensions, key: str = "folder") -> dict[str, Path]:
    """``{stem: path}`` of the video files directly in ``folder``; errors name the folder and extensions."""
    folder = Path(folder).expanduser()
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    if not folder.is_dir():
        raise FileNotFoundError(f"{key} {str(folder)!r} is not a folder (looking for {', '.join(exts)} files)")
    files = sorted(  # hidden names are temporaries (atomic writes) or macOS "._" metadata
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
    )
    if not files:
        raise FileNotFoundError(f"{key} {str(folder)!r} holds no video files with extensions {', '.join(exts)}")
    found: dict[str, Path] = {}
    for p in files:
        if p.stem in found:
            raise ValueError(f"{key} {str(folder)!r} holds two videos named {p.stem!r}: {found[p.stem].name}, {p.name}")
        found[p.stem] = p
    return found


def _file_key(p: Path) -> list:
    st = p.stat()
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


class _DecodingSource:
    """Shared decoding, skipping and caching of the file-based sources."""

    name = "videos"

    def __init__(self, frame_size, on_bad_file: str, extensions, cache: bool, max_frames: int | None, num_workers: int):
        if on_bad_file not in ON_BAD_FILE:
            raise ValueError(f"on_bad_file={on_bad_file!r}; expected one of {ON_BAD_FILE}")
        self.frame_size = as_frame_size(frame_size)
        self.on_bad_file, self.extensions = on_bad_file, tuple(extensions)
        self.cache, self.max_frames, self.num_workers = bool(cache), max_frames, max(int(num_workers), 1)
        self.skipped: list[str] = []

    def _decode(self, paths: list[Path]) -> list[tuple[np.ndarray, float] | None]:
        """Decode every file (``None`` for a skipped bad file); a bad file raises unless skipping."""

        def one(p: Path):
            try:
                return read_video(p, self.frame_size, self.max_frames)
            except VideoReadError as exc:
                if self.on_bad_file == "error":
                    raise
                log.warning("skipping %s", exc)
                return None

        with ThreadPoolExecutor(min(self.num_workers, len(paths))) as pool:
            return list(pool.map(one, paths))

    def _note_skipped(self) -> None:
        if self.skipped:
            log.warning("%s: skipped %d unreadable file(s): %s", self.name, len(self.skipped), ", ".join(self.skipped))

    def _params(self) -> dict:
        raise NotImplementedError

    def _build(self) -> FrameBank:
        raise NotImplementedError

    def cache_path(self, data_dir: str | os.PathLike) -> Path:
        return Path(data_dir) / f"{self.name}-{cache_key(self._params())}.pt"

    def _all_items(self) -> list[tuple[str, list[Path]]]:
        """``(sequence name, its files)`` for everything the source would read."""
        raise NotImplementedError

    def load(self, data_dir: str | os.PathLike | None) -> FrameBank:
        """The cached bank under ``data_dir`` if the files have not changed, else decode them (and cache).

        ``skipped`` then lists the unreadable files; after a cache hit it lists every file of
        the sequences that the cached bank lacks (the bank does not record which one was bad).
        """
        self.skipped = []
        path = None if data_dir is None or not self.cache else self.cache_path(data_dir)
        bank = load_or_build(path, self._build)
        if not self.skipped:
            kept = set(bank.names)
            self.skipped = [str(p) for name, files in self._all_items() if name not in kept for p in files]
        return bank


class VideoPairsSource(_DecodingSource):
    """Condition/target video pairs: files with the same stem in ``cond_dir`` and ``target_dir``,
    or the rows of a CSV ``manifest`` with columns ``cond,target[,name]`` (relative paths are
    taken from ``cond_dir``/``target_dir``, else from the manifest's folder).

    Pairs whose lengths differ by at most ``max_length_mismatch`` frames are cut to the shorter
    with a warning; larger differences are an error. ``on_bad_file='skip'`` drops a pair whose
    file cannot be decoded and lists it in ``skipped``.
    """

    def __init__(
        self,
        cond_dir: str | os.PathLike | None,
        target_dir: str | os.PathLike | None,
        manifest: str | os.PathLike | None = None,
        frame_size: int | tuple[int, int] = 64,
        on_bad_file: str = "error",
        extensions=VIDEO_EXTENSIONS,
        cache: bool = True,
        max_length_mismatch: int = 5,
        max_frames: int | None = None,
        num_workers: int = 4,
        name: str = "video_pairs",
        allow_outside: bool = False,
    ):
        super().__init__(frame_size, on_bad_file, extensions, cache, max_frames, num_workers)
        self.allow_outside = bool(allow_outside)
        self.cond_dir, self.target_dir = cond_dir, target_dir
        self.manifest, self.max_length_mismatch, self.name = manifest, int(max_length_mismatch), name

    has_condition = True
    class_names = None

    def pairs(self) -> list[tuple[str, Path, Path]]:
        """``(name, cond_path, target_path)`` for every pair, sorted by name (manifest: file order)."""
        if self.manifest is not None:
            return self._manifest_pairs()
        if self.cond_dir is None or self.target_dir is None:
            raise ValueError(
                "video_pairs needs either both folders (dataset.source.cond_dir=... dataset.source.target_dir=...) "
                f"or a manifest (dataset.source.manifest=pairs.csv); got cond_dir={self.cond_dir}, "
                f"target_dir={self.target_dir}, manifest=None"
            )
        cond = list_videos(self.cond_dir, self.extensions, "cond_dir")
        target = list_videos(self.target_dir, self.extensions, "target_dir")
        only_cond, only_target = sorted(set(cond) - set(target)), sorted(set(target) - set(cond))
        if only_cond or only_target:
            raise ValueError(
                f"videos do not pair up by file name (stem): in cond_dir {str(self.cond_dir)!r} without a "
                f"target: {only_cond}; in target_dir {str(self.target_dir)!r} without a condition: {only_target}"
            )
        return [(s, cond[s], target[s]) for s in sorted(cond)]

    def _manifest_pairs(self) -> list[tuple[str, Path, Path]]:
        manifest = Path(self.manifest).expanduser()
        if not manifest.is_file():
            raise FileNotFoundError(
                f"manifest {str(manifest)!r} does not exist (a CSV with columns cond,target[,name])"
            )
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"cond", "target"} <= set(rows[0]):
            raise ValueError(f"manifest {str(manifest)!r} needs a header with columns cond,target[,name] and rows")
        out = []
        for i, row in enumerate(rows):
            c_base, t_base = Path(self.cond_dir or manifest.parent), Path(self.target_dir or manifest.parent)
            c = check_inside(c_base / row["cond"], c_base, manifest, i + 2, self.allow_outside)
            t = check_inside(t_base / row["target"], t_base, manifest, i + 2, self.allow_outside)
            for p in (c, t):
                if not p.is_file():
                    raise FileNotFoundError(f"manifest {str(manifest)!r} row {i + 2}: no file {str(p)!r}")
            out.append((row.get("name") or Path(row["target"]).stem, c, t))
        return out

    def _all_items(self) -> list[tuple[str, list[Path]]]:
        return [(n, [c, t]) for n, c, t in self.pairs()]

    def _params(self) -> dict:
        files = [[n, _file_key(c), _file_key(t)] for n, c, t in self.pairs()]
        return {
            "files": files, "frame_size": list(self.frame_size), "max_frames": self.max_frames,
            "on_bad_file": self.on_bad_file, "max_length_mismatch": self.max_length_mismatch,
        }  # fmt: skip

    def _build(self) -> FrameBank:
        pairs = self.pairs()
        decoded = self._decode([p for _, c, t in pairs for p in (c, t)])
        names, conds, targets, fps = [], [], [], []
        for i, (name, c_path, t_path) in enumerate(pairs):
            c, t = decoded[2 * i], decoded[2 * i + 1]
            if c is None or t is None:
                self.skipped += [str(p) for p, d in ((c_path, c), (t_path, t)) if d is None]
                continue
            (c, _), (t, t_fps) = c, t
            if len(c) != len(t):
                diff = abs(len(c) - len(t))
                where = f"pair {name!r} ({c_path.name}: {len(c)} frames, {t_path.name}: {len(t)} frames)"
                if diff > self.max_length_mismatch:
                    limit = f"max_length_mismatch={self.max_length_mismatch}"
                    raise ValueError(f"{where} differ by {diff} frames, more than {limit}")
                log.warning("%s differ by %d frames; both are cut to %d", where, diff, min(len(c), len(t)))
                c, t = c[: len(t)], t[: len(c)]
            names.append(name)
            conds.append(c)
            targets.append(t)
            fps.append(t_fps)
        self._note_skipped()
        if not names:
            raise ValueError(f"{self.name}: no readable video pair (skipped: {self.skipped})")
        return _bank(targets, names, fps, cond=conds)


def check_inside(path: Path, base: Path, manifest: Path, row: int, allow_outside: bool) -> Path:
    """``path`` if it lies inside ``base`` (symlinks and ``..`` resolved); else, unless ``allow_outside``,
    an error naming the manifest, the row and the path: a manifest received from elsewhere must not
    point the dataset at any file on the disk (``../../..``, ``/etc/...``)."""
    if not allow_outside:
        resolved, root = path.resolve(), base.resolve()
        if resolved != root and root not in resolved.parents:
            raise ValueError(f"manifest {str(manifest)!r} row {row}: {str(path)!r} lies outside {str(base)!r}; "
                             f"set dataset.source.allow_outside=true if that is intended")
    return path


def read_labelled_manifest(manifest: str | os.PathLike, root: str | os.PathLike | None = None,
                           allow_outside: bool = False) -> dict[str, dict[str, Path]]:
    """``{class: {name: path}}`` from a CSV with columns ``path,label[,name]``; relative paths are
    taken from ``root`` if given, else from the manifest's folder, and must stay inside it unless
    ``allow_outside``."""
    manifest = Path(manifest).expanduser()
    if not manifest.is_file():
        raise FileNotFoundError(f"manifest {str(manifest)!r} does not exist (a CSV with columns path,label[,name]; "
                                f"write one with `videogen3d build labelled ROOT --out {manifest.name}`)")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise ValueError(f"manifest {str(manifest)!r} needs a header with columns path,label[,name] and rows")
    base = Path(root).expanduser() if root is not None else manifest.parent
    classes: dict[str, dict[str, Path]] = {}
    for i, row in enumerate(rows):
        p = check_inside(base / row["path"], base, manifest, i + 2, allow_outside)
        if not p.is_file():
            raise FileNotFoundError(f"manifest {str(manifest)!r} row {i + 2}: no file {str(p)!r}")
        name = row.get("name") or p.stem
        entries = classes.setdefault(row["label"], {})
        if name in entries:
            raise ValueError(f"manifest {str(manifest)!r} row {i + 2}: class {row['label']!r} already has "
                             f"an entry named {name!r}")
        entries[name] = p
    return {k: classes[k] for k in sorted(classes)}


class VideoFolderSource(_DecodingSource):
    """Labelled videos: one sub-folder of ``root`` per class, or a CSV ``path,label[,name]`` manifest
    (``videogen3d build labelled`` writes one); sorted class names -> labels 0..K-1."""

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        manifest: str | os.PathLike | None = None,
        frame_size: int | tuple[int, int] = 64,
        on_bad_file: str = "error",
        extensions=VIDEO_EXTENSIONS,
        cache: bool = True,
        max_frames: int | None = None,
        num_workers: int = 4,
        name: str = "video_folder",
        allow_outside: bool = False,
    ):
        if root is None and manifest is None:
            raise ValueError("video_folder needs dataset.source.root (one sub-folder of videos per class) or "
                             "dataset.source.manifest (a CSV from `videogen3d build labelled`)")
        super().__init__(frame_size, on_bad_file, extensions, cache, max_frames, num_workers)
        self.allow_outside = bool(allow_outside)
        self.root = Path(root).expanduser() if root is not None else None
        self.manifest, self.name = manifest, name

    has_condition = False

    @property
    def class_names(self) -> list[str]:
        return list(self.classes())

    def classes(self) -> dict[str, dict[str, Path]]:
        if self.manifest is not None:
            return read_labelled_manifest(self.manifest, self.root, self.allow_outside)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root {str(self.root)!r} is not a folder (one sub-folder of videos per class)")
        subdirs = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not subdirs:
            raise FileNotFoundError(f"root {str(self.root)!r} has no class sub-folders")
        return {d.name: list_videos(d, self.extensions, "class folder") for d in subdirs}

    def _items(self) -> list[tuple[int, str, Path]]:
        """``(label, "class/stem", path)`` of every file."""
        classes = self.classes().items()
        return [(label, f"{cls}/{stem}", p) for label, (cls, files) in enumerate(classes) for stem, p in files.items()]

    def _all_items(self) -> list[tuple[str, list[Path]]]:
        return [(name, [p]) for _, name, p in self._items()]

    def _params(self) -> dict:
        files = {k: [_file_key(p) for p in v.values()] for k, v in self.classes().items()}
        return {"files": files, "frame_size": list(self.frame_size), "max_frames": self.max_frames,
                "on_bad_file": self.on_bad_file}

    def _build(self) -> FrameBank:
        classes, items = self.classes(), self._items()
        decoded = self._decode([p for *_, p in items])
        labels, names, videos, fps = [], [], [], []
        for (label, name, p), d in zip(items, decoded):
            if d is None:
                self.skipped.append(str(p))
                continue
            labels.append(label)
            names.append(name)
            videos.append(d[0])
            fps.append(d[1])
        self._note_skipped()
        if not names:
            raise ValueError(f"{self.name}: no readable video in {str(self.manifest or self.root)!r} "
                             f"(skipped: {self.skipped})")
        return _bank(videos, names, fps, labels=labels, class_names=list(classes))


def _bank(
    targets: list[np.ndarray], names: list[str], fps: list[float], cond=None, labels=None, class_names=None
) -> FrameBank:
    lengths = torch.tensor([len(t) for t in targets], dtype=torch.int64)
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(lengths, 0)])
    return FrameBank(
        target=torch.from_numpy(np.concatenate(targets)),
        offsets=offsets,
        cond=None if cond is None else torch.from_numpy(np.concatenate(cond)),
        labels=labels,
        names=names,
        fps=float(np.median(fps)),
        class_names=class_names,
    )
