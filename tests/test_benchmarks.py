"""`python -m benchmarks NAME`: every benchmark module is listed, imports without running, and the dispatcher
hands it the arguments after its name."""

from __future__ import annotations

import importlib
import json
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


RESULT_KEYS = {"benchmark", "command", "date", "commit", "machine", "processor", "cores", "load", "python", "numbers"}


def test_a_recorded_result_says_where_and_when_and_renders_its_table(tmp_path) -> None:
    from mlkit.testing.bench import record

    path = record("demo", {"fresh_s": 19.9, "restored_s": 1.87}, ["what", "seconds"],
                  [["fresh", 19.9], ["restored", 1.87]], folder=tmp_path)
    result = json.loads(path.read_text())
    assert RESULT_KEYS <= result.keys() and result["numbers"] == {"fresh_s": 19.9, "restored_s": 1.87}
    assert result["command"] == "python -m benchmarks demo" and result["cores"] >= 1 and len(result["load"]) == 3
    page = (tmp_path / "demo.md").read_text()
    assert "| what | seconds |" in page and "| restored | 1.8700 |" in page
    assert f"commit {result['commit'][:12]}" in page and "python -m benchmarks demo" in page


def test_every_result_file_is_complete_and_included_by_a_docs_page() -> None:
    """A figure on the site comes from a file a benchmark wrote, and every such file is shown somewhere."""
    results = ROOT / "docs" / "studies" / "results"
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md")
                      if results not in p.parents)
    found = sorted(results.glob("*.json"))
    assert found, "no benchmark result files under docs/studies/results"
    for path in found:
        result = json.loads(path.read_text(encoding="utf-8"))
        assert RESULT_KEYS <= result.keys(), path.name
        assert (results / f"{path.stem}.md").is_file(), path.name
        assert f'--8<-- "studies/results/{path.stem}.md"' in pages, f"{path.stem}.md is included by no page"
        assert result["benchmark"] == path.stem and result["command"] == f"python -m benchmarks {path.stem}"
