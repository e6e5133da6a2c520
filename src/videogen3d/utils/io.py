"""Small file helpers: every file the project writes appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps ``path``'s extension (or ``suffix``) so that writers which infer
    the format from the name (PyAV, Pillow, numpy) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode of a new file
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(out: str | os.PathLike, inputs: list[str | os.PathLike | None] | tuple = (),
                 overwrite: bool = False, flag: str = "--out") -> Path:
    """Refuse an output path that is one of ``inputs`` (always) or that exists (unless ``overwrite``).

    A command must never destroy what it reads: ``translate in.mp4 --out in.mp4`` or a manifest
    written over a listed video. Returns ``out`` as a Path.
    """
    out = Path(out)
    for src in inputs:
        if src is not None and _same(out, Path(src)):
            raise ValueError(f"{flag} {str(out)!r} is also an input of this command ({str(src)!r}); "
                             f"write the output elsewhere")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{flag} {str(out)!r} already exists; pass --overwrite to replace it "
                              f"(overwrite=True from Python)")
    return out
