"""`python -m benchmarks NAME [ARGS]`: run the benchmark module NAME as its own script would run (its
`if __name__ == "__main__"` block, which calls its main); `--list` (or `--help`) names each one."""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
USAGE = "usage: python -m benchmarks NAME [ARGS]  (python -m benchmarks NAME --help, where NAME parses options)"


def names() -> list[str]:
    """Every benchmark module: each .py file here but the package's own."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def summary(name: str) -> str:
    """The first line of the module's docstring, read without importing it (imports take seconds)."""
    doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def listing() -> str:
    width = max(map(len, names()))
    return "\n".join([USAGE, "", "benchmarks:", *(f"  {n.ljust(width)}  {summary(n)}" for n in names())])


def main(argv: list[str]) -> int:
    if not argv:
        print(listing(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "--list"):
        print(listing())
        return 0
    name = argv[0]
    if name not in names():
        print(f"error: no benchmark {name!r} (python -m benchmarks --list names them)", file=sys.stderr)
        return 2
    # The module sees the arguments after NAME, as it would run as a script (runpy sets argv[0] to its file).
    sys.argv = [f"python -m benchmarks {name}", *argv[1:]]
    runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
