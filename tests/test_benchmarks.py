"""`python -m benchmarks NAME`: every benchmark module is listed, imports without running, and the dispatcher
hands it the arguments after its name."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from mlkit.testing import ENV, ROOT

pytestmark = pytest.mark.fast

MODULES = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))


def benchmarks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=120)


def test_the_list_names_every_benchmark_module_with_its_summary() -> None:
    done = benchmarks("--list")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0]: line.split(maxsplit=1)[1] for line in done.stdout.splitlines()
              if line.startswith("  ") and len(line.split()) > 1}
    assert len(MODULES) > 10 and sorted(listed) == MODULES
    assert all(summary.strip() for summary in listed.values()), listed


@pytest.mark.parametrize("name", MODULES)
def test_each_benchmark_imports_without_running_and_has_a_main(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.main)


def test_arguments_after_the_name_reach_the_module() -> None:
    done = benchmarks("exp_modes", "--help")  # its argparse prints its options and exits 0: nothing runs
    assert done.returncode == 0 and "--repeat" in done.stdout, done.stdout + done.stderr


def test_an_unknown_name_or_no_name_is_a_usage_error() -> None:
    unknown = benchmarks("no_such_benchmark")
    assert unknown.returncode == 2 and "no benchmark 'no_such_benchmark'" in unknown.stderr
    bare = benchmarks()
    assert bare.returncode == 2 and "usage: python -m benchmarks NAME" in bare.stderr


def test_no_benchmark_reaches_into_sys_path() -> None:
    """They import as a package (python -m benchmarks), so none needs a path inserted by hand."""
    offending = [name for name in ("__init__", "__main__", *MODULES)
                 if "sys.path" in (ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")]
    assert offending == []
