"""Benchmarks users run: ``navila bench NAME [options]`` or ``python benchmarks/NAME.py [options]``.

Each benchmark is a script with ``main(argv) -> int`` that prints its figures against a baseline measured in the same
run and appends them, stamped by :mod:`navila_lab.provenance`, to a file under ``results/``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from navila_lab.errors import UserError


def benchmarks() -> dict[str, str]:
    """Name → first docstring line of every script here that defines ``main`` (shared helpers do not)."""
    found = {}
    for source in sorted(Path(__file__).parent.glob("[!_]*.py")):
        tree = ast.parse(source.read_text())
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            found[source.stem] = (ast.get_docstring(tree) or "").splitlines()[0]
    return found


def main(argv: list[str]) -> int:
    """``navila bench NAME ...``: run one benchmark, or list them."""
    found = benchmarks()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: navila bench NAME [options]   ('navila bench NAME --help' for its options)\n\nbenchmarks:")
        print("\n".join(f"  {name:<20} {doc}" for name, doc in found.items()))
        return 0
    if argv[0] not in found:
        raise UserError(f"unknown benchmark '{argv[0]}' (choose from: {', '.join(found)})")
    return importlib.import_module(f"{__name__}.{argv[0]}").main(argv[1:])
