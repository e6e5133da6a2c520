"""The package's layering (DESIGN.md): networks and LightningModules know nothing of Hydra, and the
sub-packages import each other without cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "videogen3d"


def test_tasks_and_models_import_no_hydra():
    code = ("import importlib, pkgutil, sys, videogen3d.tasks, videogen3d.models\n"
            "for pkg in (videogen3d.tasks, videogen3d.models):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hydra', 'omegaconf')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"importing videogen3d.tasks / videogen3d.models loaded {out.strip()}"


def _package_imports() -> dict[str, set[str]]:
    """Sub-package -> the sub-packages its modules import (``videogen3d.<x>``), module top level or not."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        pkg = path.relative_to(SRC).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                parts = name.split(".")
                if parts[0] == "videogen3d" and len(parts) > 1 and parts[1] != pkg:
                    graph.setdefault(pkg, set()).add(parts[1])
    return graph


def test_no_import_cycle_among_sub_packages():
    graph = _package_imports()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [node]):
                return True
        state[node] = 2
        return False

    for pkg in sorted(graph):
        if state.get(pkg) is None and visit(pkg, []):
            break
    assert not cycle, f"import cycle among videogen3d's sub-packages: {' -> '.join(cycle)}"
