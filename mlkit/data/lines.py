"""Line accounting for the line-based formats (csv, tsv): one streamed pass over the file, before the
parser reads it, that counts physical lines against records and names the first line that would make
the parser lose or merge rows. A line is what the pandas parser takes for one: it ends at \\n, \\r\\n or \\r.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from mlkit.core.errors import PipelineError

# The longest field the quote-aware line count reads, in characters (Python's csv module stops at 131,072
# by default, which a long text passes). It also bounds what an unmatched quote swallows into memory
# before the count stops on it: the count holds a record's lines and its fields, a few copies of them.
FIELD_LIMIT = 16 << 20


@dataclass
class LineCount:
    """Physical data lines (the header's excluded), blank ones among them, and data records."""

    lines: int = 0
    blank: int = 0
    records: int = 0

    def as_attrs(self) -> dict[str, int]:
        return {"lines": self.lines, "blank": self.blank}


def text_lines(handle: Any, encoding: str, location: str) -> Generator[str, None, None]:
    """The handle's lines, decoded, with their line ends; the handle stays open (rewound by the caller)."""
    wrapper = io.TextIOWrapper(handle, encoding=encoding, newline="")
    number = 0
    try:
        for number, line in enumerate(wrapper, start=1):  # noqa: B007 (number is reported on error)
            yield line
    except UnicodeDecodeError as exc:
        where = f" after line {number}" if number else ""  # decoded in chunks: the line is not exact
        raise PipelineError(f"{location}: not {encoding} text{where} ({exc.reason}); name its encoding (a source's "
                            "`encoding`, mlkit predict's --encoding)") from None
    finally:
        wrapper.detach()


def is_blank(line: str, sep: str) -> bool:
    """What pandas skips as a blank line: nothing but spaces and tabs, unless the tab is the separator."""
    return not line.strip(" \t".replace(sep, "") if len(sep) == 1 else " \t")


def strip_end(line: str) -> str:
    return line.rstrip("\r\n")


def count_unquoted(lines: Iterator[str], sep: str, header: bool, location: str, fmt: str) -> LineCount:
    """Without quote processing a record is exactly one line: every non-blank line must have the width
    of the first (the header's), else the parser would pad it or stop. A sep of any length is split on
    literally (the reader escapes a longer one for pandas, which would take it as a regular expression)."""

    def fields(line: str) -> int:
        return line.count(sep) + 1

    count = LineCount()
    width = None
    for number, raw in enumerate(lines, start=1):
        line = strip_end(raw)
        if is_blank(line, sep):
            count.lines += 1
            count.blank += 1
            continue
        if width is None:
            width = fields(line)
            if header:
                continue
        count.lines += 1
        count.records += 1
        found = fields(line)
        if found != width:
            _width_error(location, fmt, number, found, width, header, quoted=False, hint='"' in line)
    return count


def count_quoted(lines: Iterator[str], sep: str, header: bool, location: str, fmt: str) -> LineCount:
    """With quote processing a record may span lines (a quoted text with line breaks). Every record
    that does is parsed again strictly: a quote that closes in the middle of a field means an unmatched
    quote swallowed the lines in between, which pandas would merge into one row without a word."""
    taken: list[str] = []

    def tracked() -> Iterator[str]:
        for line in lines:
            taken.append(line)
            yield line

    limit = csv.field_size_limit(FIELD_LIMIT)  # process-wide: restored below
    try:
        return _count_records(tracked(), taken, sep, header, location, fmt)
    finally:
        csv.field_size_limit(limit)


def _count_records(lines: Iterator[str], taken: list[str], sep: str, header: bool, location: str,
                   fmt: str) -> LineCount:
    reader = csv.reader(lines, delimiter=sep, quotechar='"', doublequote=True, strict=False)
    count = LineCount()
    width = None
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            raw, taken[:] = "".join(taken), []
            spanned = end - start + 1
            if spanned == 1 and is_blank(strip_end(raw), sep):
                count.lines += 1
                count.blank += 1
                continue
            if spanned > 1:
                _check_spanned(raw, sep, location, fmt, start, end)
            if width is None:
                width = len(record)
                if header:
                    continue
            count.lines += spanned
            count.records += 1
            if len(record) != width:
                _width_error(location, fmt, start, len(record), width, header, quoted=True, hint=False)
    except csv.Error as exc:  # the reader's own: a field past FIELD_LIMIT
        problem = (f"a field runs past {FIELD_LIMIT:,} characters, the most one may hold; if a quote that never "
                   "closes swallowed the lines after it, fix that quote, or set `quote: false` if the file's "
                   "quotes are plain text" if "field limit" in str(exc) else str(exc))
        raise PipelineError(f"{location}: malformed {fmt} file: line {end + 1}: {problem}") from None
    return count


def _check_spanned(raw: str, sep: str, location: str, fmt: str, start: int, end: int) -> None:
    """A record on several lines, parsed again strictly: its quotes must close where a field ends."""
    try:
        list(csv.reader(io.StringIO(raw, newline=""), delimiter=sep, quotechar='"', strict=True))
    except csv.Error as exc:
        problem = (f"a quoted field opened here never closes (the file ends on line {end})"
                   if "end of data" in str(exc) else
                   f"a quoted field runs to line {end} and closes in the middle of a field ({exc})")
        raise PipelineError(
            f"{location}: malformed {fmt} file: line {start}: {problem}; an unmatched \" would "
            f"swallow the lines in between: fix that quote, or set `quote: false` if the file's "
            f"quotes are plain text"
        ) from None


def _width_error(location: str, fmt: str, number: int, found: int, width: int, header: bool, quoted: bool,
                 hint: bool) -> None:
    first = "the header has" if header else "the first row has"
    advice = "; if its texts are quoted, set `quote: true`" if hint and not quoted else ""
    raise PipelineError(
        f"{location}: malformed {fmt} file: line {number} has {found} field{'s' * (found != 1)}, {first} {width} ("
        f"{'with' if quoted else 'without'} quote processing){advice}"
    )
