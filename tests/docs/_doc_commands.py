"""Every command line the documentation shows, extracted from the files themselves.

Sources: fenced and indented code blocks of README.md, docs/seed003_experiments.md (seed 003's experiment log),
sweeps/README.md and CONTRIBUTING.md, inline
code spans there that start with a known program, and the ``#   python ...`` header comments of
every YAML under conf/. A line continued with ``\\`` is joined; a trailing ``# comment`` is dropped.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/seed003_experiments.md", "sweeps/README.md", "CONTRIBUTING.md")
PROGRAMS = ("python train.py", "python synth.py", "python -m videogen3d", "videogen3d ", "wandb ", "pip install",
            "pytest", "python3 -m venv")


@dataclass(frozen=True)
class Command:
    source: str  # "README.md:12"
    line: str

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.line)

    def __str__(self) -> str:
        return f"{self.source}: {self.line}"


def _strip_comment(line: str) -> str:
    """Drop a trailing shell comment (a ``#`` outside quotes, preceded by a space)."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "'\"" and quote in (None, ch):
            quote = None if quote == ch else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _commands_in(text: str, source: str, code_lines: list[tuple[int, str]]) -> list[Command]:
    out: list[Command] = []
    pending, start = "", 0
    for lineno, raw in code_lines:
        line = raw.strip()
        if pending:
            line, pending = pending + " " + line, ""
        else:
            start = lineno
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        line = _strip_comment(line)
        for part in (p.strip() for p in line.split("&&")):
            if part.startswith(PROGRAMS):
                out.append(Command(f"{source}:{start}", part))
    return out


def markdown_commands(path: Path) -> list[Command]:
    text = path.read_text()
    rel = path.relative_to(REPO).as_posix()
    code: list[tuple[int, str]] = []
    inline: list[Command] = []
    fenced = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or (line.startswith("    ") and line.strip() and not line.lstrip().startswith(("-", "*", "|"))):
            code.append((lineno, line))
            continue
        for span in re.findall(r"`([^`]+)`", line):
            span = span.strip()
            synopsis = ("<" in span.replace("<run>", "").replace("<date>_<time>", "")
                        or "[" in span.split(" ", 2)[-1][:1]
                        or (span.startswith("videogen3d ") and len(span.split()) < 3))  # `videogen3d report`: a name
            if span.startswith(("python train.py", "python synth.py", "videogen3d ", "python -m videogen3d")) \
                    and not synopsis:  # `python -m videogen3d.bench <name> [options]` describes, it is no line
                inline.append(Command(f"{rel}:{lineno}", _strip_comment(span)))
    return _commands_in(text, rel, code) + inline


def yaml_commands(path: Path) -> list[Command]:
    rel = path.relative_to(REPO).as_posix()
    code = [(i, line.lstrip()[1:]) for i, line in enumerate(path.read_text().splitlines(), 1)
            if re.match(r"\s*#\s+(python|videogen3d|wandb)\b", line)]
    return _commands_in("", rel, code)


def documented_commands() -> list[Command]:
    found: list[Command] = []
    for name in DOCS:
        if (REPO / name).is_file():
            found += markdown_commands(REPO / name)
    for path in sorted((REPO / "conf").rglob("*.yaml")):
        found += yaml_commands(path)
    seen: set[str] = set()
    unique = []
    for cmd in found:  # the same line documented twice is run once (the first place names it)
        if cmd.line not in seen:
            seen.add(cmd.line)
            unique.append(cmd)
    return unique
