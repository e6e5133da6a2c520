"""Small file helpers: every file the project writes appears whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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


def write_json(result: Any, path: str | os.PathLike) -> Path:
    """Write ``result`` as indented JSON to ``path`` atomically (:func:`atomic_path`); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    return path


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


TRUST_HINT = ("pass --trust-checkpoint (CLI) or trust_checkpoint=true (config) only if you trust whoever "
              "made this file: loading it runs the code its pickle names")


def load_tensors_only(path: str | os.PathLike, what: str, error: type[Exception] = ValueError, *,
                      mmap: bool = False, trust_hint: str | None = None) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never arbitrary pickled
    objects. A file that needs more is refused, naming it and the global it asks for (and, given
    ``trust_hint``, how to load it anyway), and so is one that is not a readable checkpoint at all (empty, cut
    short, or another kind of file): an ``error`` naming the file, never a traceback from deep inside
    ``torch.load``. A missing file is ``FileNotFoundError``. ``mmap`` maps the tensors instead of reading
    them (a cheap look at a large file)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        # torch's wordings: "Unsupported global: GLOBAL x.y ..." or "Trying to load unsupported GLOBAL x.y whose ..."
        found = re.search(r"GLOBAL (\S+)", str(err))
        if found:  # a pickle that asks for a class or function: what a file that runs code on loading does
            raise error(f"{what} {str(path)!r} holds objects other than tensors and plain containers and is "
                        f"refused (loaded with weights_only=True): it asks for {found.group(1)}"
                        + (f"; to load it anyway, {trust_hint}" if trust_hint else "")) from None
        operand = re.search(r"Unsupported operand \S+", str(err))
        raise error(f"{what} {str(path)!r} is not a readable torch checkpoint (another kind of file, or "
                    f"damaged){': ' + operand.group(0) if operand else ''}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (RuntimeError, EOFError, OSError) as err:  # empty, or a zip archive cut short (at its index or its data)
        first = (str(err).splitlines() or [""])[0].split(". ")[0]
        raise error(f"{what} {str(path)!r} is not a readable torch checkpoint (empty or cut short): "
                    f"{type(err).__name__}{': ' + first if first else ''}") from None


class Inert:
    """What :func:`load_tensors_inert` makes of an object a checkpoint names but the tensor loader does not allow:
    built from nothing, keeping nothing, calling nothing. ``names`` is the global it stands for."""

    names = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Inert:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<inert {self.names}>"


def load_tensors_inert(path: str | os.PathLike, what: str, error: type[Exception] = ValueError) -> Any:
    """A checkpoint's tensors and plain containers, with every other object it names replaced by an :class:`Inert`
    placeholder, for a file that :func:`load_tensors_only` refuses (a foreign object in its hyperparameters) when only
    its weights are needed. It is read by torch's own ``weights_only`` unpickler: the globals the file names are
    listed without unpickling it (``torch.serialization.get_unsafe_globals_in_checkpoint``) and each is allow-listed
    as a placeholder class under its name, so nothing the file names is imported or called. A file that asks for a
    module torch blocks outright (``os``, ``posix``, ``nt``, ``sys``: what a payload uses to run commands) is refused
    even so, and a file that is not a readable checkpoint is an ``error`` naming it."""
    import torch

    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        stand_ins = [(type("Inert", (Inert,), {"names": name}), name) for name in names]
        with torch.serialization.safe_globals(stand_ins):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        blocked = re.search(r"GLOBAL (\S+) whose module (\S+) is blocked", str(err))
        if blocked:
            raise error(f"{what} {str(path)!r} asks for {blocked.group(1)}, from module {blocked.group(2)!r} that "
                        f"runs commands: refused even when trusted") from None
        why = re.search(r"WeightsUnpickler error:\s*(\S.*)", str(err))  # torch's reason, under its generic advice
        raise error(f"{what} {str(path)!r} holds an object that cannot be read with its objects inert: "
                    f"{why.group(1) if why else (str(err).splitlines() or [''])[0]}") from None
    except Exception as err:  # truncated, not a zip archive, not a pickle
        first = (str(err).splitlines() or [""])[0]
        raise error(f"{what} {str(path)!r} is not a readable torch checkpoint: {type(err).__name__}"
                    f"{': ' + first if first else ''}") from None
