"""The study pages show figures as data: each table of measured figures is a result file a benchmark wrote
(docs/studies/results/NAME.md, included with `--8<--`), never a table or a benchmark's output pasted into the
page, so a figure on a page is always the one its benchmark last measured and says where and when."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlkit.testing import ROOT

pytestmark = pytest.mark.fast

STUDIES = ROOT / "docs" / "studies"
RESULTS = STUDIES / "results"

INCLUDE = re.compile(r'^--8<--\s+"([^"]+)"\s*$', re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)([^\n]*)\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)
# A cell that is a figure: it starts with a number (emphasis and code marks aside), e.g. `0.91 [0.90, 0.92]`,
# `16.7 / 17.6`, `1,380`; a cell of words or links is a description.
FIGURE_CELL = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?(\s|$|[\[/%x])")
# What a benchmark prints (mlkit.testing.bench.table): a rule of dashes under the headers, column by column.
TEXT_RULE = re.compile(r"^\s*(?=.*-{3})-+(\s+-+)+\s*$", re.MULTILINE)


def pasted(text: str) -> list[str]:
    """Where a page holds figures of its own: each Markdown table with figures in it and each fenced block of
    benchmark output, by the line it starts on."""
    found: list[tuple[int, str]] = []
    for match in FENCE.finditer(text):
        if TEXT_RULE.search(match.group(3)):
            found.append((text.count("\n", 0, match.start()) + 1, "a fenced block of benchmark output"))
    outside = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # fenced blocks are not tables
    lines = outside.splitlines()
    start = None
    for number, line in enumerate([*lines, ""], start=1):
        if line.lstrip().startswith("|"):
            start = start or number
            continue
        if start is not None:
            body = [row for row in lines[start - 1:number - 1] if not re.fullmatch(r"[\s|:-]+", row)][1:]
            cells = [c.strip().strip("*`").strip() for row in body for c in row.strip().strip("|").split("|")]
            figures = sum(bool(FIGURE_CELL.match(c)) for c in cells)
            if figures:
                found.append((start, f"a Markdown table with {figures} figures"))
            start = None
    return [f"line {line}: {what}" for line, what in sorted(found)]


def pages() -> list[Path]:
    return sorted(STUDIES.glob("*.md"))


def test_no_study_page_holds_pasted_figures() -> None:
    still = {page.name: where for page in pages()
             for where in [pasted(page.read_text(encoding="utf-8"))] if where}
    assert not still, ("study pages with pasted figures (write them with mlkit.testing.bench.record and include "
                       "docs/studies/results/NAME.md): " + "; ".join(f"{p}: {', '.join(w)}" for p, w in still.items()))


def test_each_included_result_exists() -> None:
    missing = [f"{page.name}: {name}" for page in pages()
               for name in INCLUDE.findall(page.read_text(encoding="utf-8"))
               if not (ROOT / "docs" / name).is_file()]
    assert not missing


@pytest.mark.parametrize("text, expected", [
    ("| study | question |\n|---|---|\n| [Scaling](scaling.md) | each stage from 10,000 rows |\n", []),
    ("| k | valid F1 |\n|---|---|\n| 25 | **0.2727** |\n", ["line 1: a Markdown table with 2 figures"]),
    ("| stage | 1,000,000 rows: wall s |\n|---|---|\n| dvc repro | 86.5 / 87.8 |\n",
     ["line 1: a Markdown table with 1 figures"]),
    ("```text\nmutant  s\n------  --\nkilled   3\n```\n", ["line 1: a fenced block of benchmark output"]),
    ("text\n\n```text\n k  valid F1\n--  --------\n 0    0.2727\n```\n", ["line 3: a fenced block of benchmark output"]),
    ("```bash\nmlkit sweep -S 'model.C=0.05,0.1' -j 2\n```\n", []),
    ('--8<-- "studies/results/tasks.md"\n', []),
])
def test_what_counts_as_pasted(text: str, expected: list[str]) -> None:
    assert pasted(text) == expected
