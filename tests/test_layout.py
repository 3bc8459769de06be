"""The package's layers and dvc.yaml's deps, derived from the code itself (ast), so neither can drift.

- Each DVC stage's transitive import closure of project modules lies inside the deps dvc.yaml declares for
  it, so no code a stage runs (a default in mlkit/core/params.py, a helper) can change without a rerun.
- Every code dep a stage declares is needed: removing any one of them from dvc.yaml breaks the rule above.
- Lower layers never import higher ones; the stages import only core, data and modeling; no import cycles.
- The same rules as import-linter contracts (pyproject.toml, [tool.importlinter]): `lint-imports` keeps them.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("mlkit", "stages")
# layer -> the layers it may import (itself included)
ALLOWED = {"core": {"core"}, "data": {"core", "data"}, "modeling": {"core", "modeling"},
           "stages": {"core", "data", "modeling"}, "tools": {"core", "data", "modeling", "tools"},
           "cli": {"core", "data", "modeling", "tools", "cli"},
           # support for tests and benchmarks: no other layer imports it (no layer lists it)
           "testing": {"core", "data", "modeling", "testing"}}
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]

pytestmark = pytest.mark.fast


def module_file(name: str) -> Path | None:
    """mlkit.core.io -> mlkit/core/io.py (or a package's __init__.py); None outside the project."""
    if name.split(".")[0] not in PROJECT:
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@cache
def imports_of(path: Path) -> frozenset[Path]:
    """Project files `path` imports anywhere in it (function-level imports included), parents too."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import name`: name may be a submodule of pkg or an attribute of it
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            for part in with_parents(name):
                file = module_file(part)
                if file is not None:
                    found.add(file)
    return frozenset(found)


def closure(start: Path) -> set[Path]:
    seen, todo = {start}, [start]
    while todo:
        for file in imports_of(todo.pop()):
            if file not in seen:
                seen.add(file)
                todo.append(file)
    return seen


def is_empty(file: Path) -> bool:
    """A package marker with nothing but a docstring changes no result."""
    body = ast.parse(file.read_text(encoding="utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def declared(stage: str) -> list[str]:
    return [str(d).split()[0] for d in PIPELINE[stage]["deps"]]


def uncovered(stage: str, deps: list[str]) -> list[str]:
    start = ROOT / "stages" / f"{stage}.py"
    missing = []
    for file in sorted(closure(start)):
        relative = file.relative_to(ROOT).as_posix()
        if is_empty(file) and file.name == "__init__.py":
            continue
        if not any(relative == d or relative.startswith(d.rstrip("/") + "/") for d in deps):
            missing.append(relative)
    return missing


def layer(file: Path) -> str:
    parts = file.relative_to(ROOT).parts
    if parts[0] == "stages":
        return "stages"
    return parts[1] if len(parts) > 2 else "top"


@pytest.mark.parametrize("stage", sorted(PIPELINE))
def test_every_module_a_stage_runs_is_a_declared_dep(stage: str) -> None:
    assert PIPELINE[stage]["cmd"] == f"python -m stages.{stage}"
    assert uncovered(stage, declared(stage)) == [], f"dvc.yaml: stage {stage} runs code it does not depend on"


@pytest.mark.parametrize("stage", sorted(PIPELINE))
def test_removing_any_declared_code_dep_is_caught(stage: str) -> None:
    code = [d for d in declared(stage) if d.split("/")[0] in PROJECT]
    assert code, stage
    for dep in code:
        rest = [d for d in declared(stage) if d != dep]
        assert uncovered(stage, rest), f"{stage}: dep {dep} covers no module the stage runs (too broad?)"


def project_files() -> list[Path]:
    return sorted(p for folder in PROJECT for p in (ROOT / folder).rglob("*.py"))


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = []
    for file in project_files():
        mine = layer(file)
        allowed = ALLOWED.get(mine)
        if allowed is None:  # mlkit/__init__.py, mlkit/__main__.py
            continue
        for target in imports_of(file):
            theirs = layer(target)
            if theirs != "top" and theirs not in allowed:
                wrong.append(f"{file.relative_to(ROOT)} ({mine}) imports {target.relative_to(ROOT)} ({theirs})")
    assert wrong == []


def test_the_pipeline_stages_never_load_the_tools() -> None:
    for stage in PIPELINE:
        loaded = {layer(f) for f in closure(ROOT / "stages" / f"{stage}.py")}
        assert "tools" not in loaded, stage


def test_no_import_cycles() -> None:
    graph = {f: set(imports_of(f)) - {f} for f in project_files()}
    done: set[Path] = set()

    def visit(node: Path, path: list[Path]) -> None:
        if node in path:
            cycle = path[path.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(str(p.relative_to(ROOT)) for p in cycle))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            # a package's __init__ importing its own submodules is how packages re-export names
            if node.name == "__init__.py" and nxt.parent == node.parent:
                continue
            visit(nxt, path + [node])
        done.add(node)

    for file in graph:
        visit(file, [])


def test_modules_stay_readable_in_one_sitting() -> None:
    long = {str(f.relative_to(ROOT)): n for f in project_files()
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > 340}
    assert long == {}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the code under `root` (PYTHONPATH: that copy's mlkit, not an installed one), uncached:
    a cache folder would land in the checkout."""
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--no-logo"]
    return subprocess.run(command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)


def test_import_linter_keeps_every_layer_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(("module", "planted", "contract"), [
    ("mlkit/core/text_table.py", "from mlkit.tools.experiments import queue", "core < data | modeling < tools < cli BROKEN"),
    ("mlkit/data/split.py", "import mlkit.modeling.metrics", "core < data | modeling < tools < cli BROKEN"),
    ("stages/fetch.py", "from mlkit.tools.experiments import queue", "the stages import core, data and modeling only BROKEN"),
    ("mlkit/testing/bench.py", "import mlkit.cli", "mlkit.testing imports core, data and modeling only BROKEN"),
    ("mlkit/modeling/base.py", "import mlkit.testing", "nothing in the package imports mlkit.testing BROKEN"),
])
def test_import_linter_catches_a_planted_import(tmp_path: Path, module: str, planted: str, contract: str) -> None:
    """A copy of the code with one import that breaks a rule: the contract that states the rule fails."""
    for folder in PROJECT:
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0  # the copy as it is keeps them all
    with (tmp_path / module).open("a", encoding="utf-8") as handle:
        handle.write(f"\n{planted}  # planted\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0 and contract in done.stdout, done.stdout + done.stderr
