"""`python -m benchmarks NAME`: every benchmark module is listed, imports without running, and the dispatcher
hands it the arguments after its name."""

from __future__ import annotations

import importlib
import json
import os
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
                  [["fresh", 19.9], ["restored", 1.87]], note="dvc repro, default params",
                  more=[("per stage", ["stage", "runs"], [["train", 2]])], folder=tmp_path)
    result = json.loads(path.read_text())
    assert RESULT_KEYS <= result.keys() and result["numbers"] == {"fresh_s": 19.9, "restored_s": 1.87}
    assert result["command"] == "python -m benchmarks demo" and result["cores"] >= 1 and len(result["load"]) == 3
    page = (tmp_path / "demo.md").read_text()
    assert page.startswith("dvc repro, default params\n\n| what | seconds |") and "| restored | 1.8700 |" in page
    assert "\n\nper stage\n\n| stage | runs |\n|---|---|\n| train | 2 |\n\n<small>" in page  # a second table
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


def test_a_study_figure_is_an_svg_that_draws_each_series_and_is_the_same_for_the_same_numbers(tmp_path) -> None:
    from mlkit.testing.bench import plot

    def draw(folder):
        return plot("demo", {"measured": ([1, 2], [1.0, 1.8], None), "ideal": ([1, 2], [1, 2], [0.1, 0.1])},
                    x_label="workers", y_label="speed-up", title="demo study", folder=folder)

    path = draw(tmp_path / "a")
    svg = path.read_text()
    assert path.name == "demo.svg" and svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("measured", "ideal", "workers", "speed-up", "demo study"):  # text kept as text: labels searchable
        assert f">{text}<" in svg, text
    assert draw(tmp_path / "b").read_text() == svg  # rerunning a study with the same numbers changes no file


def test_every_figure_a_benchmark_drew_is_shown_by_the_page_that_includes_its_table() -> None:
    results = ROOT / "docs" / "studies" / "results"
    pages = {p: p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md") if results not in p.parents}
    for figure in sorted(results.glob("*.svg")):
        assert (results / f"{figure.stem}.json").is_file(), f"{figure.name}: no result file beside it"
        showing = [p for p, text in pages.items() if f'studies/results/{figure.stem}.md"' in text]
        assert showing, f"{figure.stem}.md is included by no page"
        for page in showing:
            link = os.path.relpath(results / figure.name, page.parent)
            assert f"]({link})" in pages[page], f"{page.relative_to(ROOT)} does not show {link}"


def test_every_mutant_applies_to_the_code_as_it_is_and_names_tests_that_exist() -> None:
    """The mutation check plants each bug by replacing text that must occur once: code that moved would make
    the check stop at its start, so it is caught here first."""
    from benchmarks._mutants import MUTANTS

    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    for mutant in MUTANTS:
        text = (ROOT / mutant.path).read_text(encoding="utf-8")
        for old, _ in mutant.edits:
            assert text.count(old) == 1, f"{mutant.name}: {old!r} occurs {text.count(old)} times in {mutant.path}"
        for test in (arg for arg in mutant.tests if arg.startswith("tests/")):
            assert (ROOT / test.split("::")[0]).is_file(), f"{mutant.name}: no {test}"


def test_the_mutation_check_runs_the_mutants_named_with_commas() -> None:
    done = benchmarks("mutation", "--only", "case-variants-split,forest-trees-untrusted", "--list")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[2:]] == ["case-variants-split",
                                                                          "forest-trees-untrusted"]
    unknown = benchmarks("mutation", "--only", "case-variants-split,no-such-mutant", "--list")
    assert unknown.returncode == 1 and "unknown mutant(s): no-such-mutant" in unknown.stderr
