"""Labelled videos from class sub-folders or a ``build labelled`` manifest (seed 000 §5.3).

``dataset=video_folder`` builds :class:`LabelledVideoSource`: with ``manifest`` it reads the
CSV ``path,label[,name]`` written by ``videogen3d build labelled``; otherwise it reads ``root``
with one sub-folder of videos per class, exactly as
:class:`videogen3d.data.video_pairs.VideoFolderSource` (decoding, skipping bad files with
``on_bad_file=skip``, caching). Labels are the sorted class names, numbered 0..K-1.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from videogen3d.data.video_pairs import VIDEO_EXTENSIONS, VideoFolderSource

__all__ = ["LabelledVideoSource", "read_labelled_manifest"]


def read_labelled_manifest(manifest: str | os.PathLike, root: str | os.PathLike | None = None
                           ) -> dict[str, dict[str, Path]]:
    """``{class: {name: path}}`` from a CSV with columns ``path,label[,name]``; relative paths are
    taken from ``root`` if given, else from the manifest's folder."""
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
        p = base / row["path"]
        if not p.is_file():
            raise FileNotFoundError(f"manifest {str(manifest)!r} row {i + 2}: no file {str(p)!r}")
        name = row.get("name") or p.stem
        entries = classes.setdefault(row["label"], {})
        if name in entries:
            raise ValueError(f"manifest {str(manifest)!r} row {i + 2}: class {row['label']!r} already has "
                             f"an entry named {name!r}")
        entries[name] = p
    return {k: classes[k] for k in sorted(classes)}


class LabelledVideoSource(VideoFolderSource):
    """:class:`VideoFolderSource` that can also read a labelled manifest instead of class folders."""

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
    ):
        if root is None and manifest is None:
            raise ValueError("video_folder needs dataset.source.root (one sub-folder of videos per class) or "
                             "dataset.source.manifest (a CSV from `videogen3d build labelled`)")
        base = root if root is not None else Path(manifest).expanduser().parent  # type: ignore[arg-type]
        super().__init__(base, frame_size, on_bad_file, extensions, cache, max_frames, num_workers, name)
        self.manifest, self.manifest_root = manifest, root

    def classes(self) -> dict[str, dict[str, Path]]:
        if self.manifest is None:
            return super().classes()
        return read_labelled_manifest(self.manifest, self.manifest_root)
