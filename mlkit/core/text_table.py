"""Tables printed for people, through tabulate: one look for every command's table (plain or Markdown)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, markdown: bool = False,
               left: int = 1) -> str:
    """Cells as given (str() of each), the first `left` columns left-aligned (names), the others right
    (figures). No headers: a plain aligned list. Markdown: a pipe table, for PR comments and reports."""
    cells = [[str(v) for v in row] for row in rows]
    columns = len(headers) or max(map(len, cells), default=1)
    align = ["left"] * left + ["right"] * (columns - left)
    style = "pipe" if markdown else "simple" if headers else "plain"
    return tabulate(cells, headers=list(headers), tablefmt=style, colalign=align, disable_numparse=True)
