"""Files in the supported formats (csv, tsv, jsonl, parquet, `text;label` lines), parsed chunk by chunk:
every column as read, with the line count of line-based formats checked against the parser's rows."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.core.params import TableFormat
from mlkit.core.source_params import FORMAT_BY_SUFFIX, quoted
from mlkit.data.lines import LineCount, count_quoted, count_unquoted, strip_end, text_lines

# fetch reads a file in chunks of about this many bytes, so that its memory follows the rows it keeps, not
# the file's size (a chunk's parsed table is a few times this: Python strings, their cleaned copies).
CHUNK_BYTES = 4 << 20


def resolve_format(spec: TableFormat, location: str) -> str:
    if spec.format != "auto":
        return spec.format
    suffix = PurePosixPath(urlparse(location).path if "://" in location else location).suffix.lower()
    if suffix not in FORMAT_BY_SUFFIX:
        raise PipelineError(
            f"{location}: cannot tell the format from {suffix or 'no extension'!r}; "
            f"set `format` to one of csv, tsv, jsonl, parquet, lines"
        )
    return FORMAT_BY_SUFFIX[suffix]


def quoting(spec: TableFormat, fmt: str, location: str) -> bool:
    """Whether "..." fields are honoured (source_params.quoted). The schema refuses `quote` for another
    format where it can tell the format; this is for the rest (a file whose format the reader was told)."""
    if spec.quote is not None and fmt not in ("csv", "tsv"):
        raise PipelineError(f"{location}: `quote` applies to csv and tsv files, not {fmt}; remove it")
    return quoted(spec.quote, fmt)


def parse_table(handle: Any, spec: TableFormat, fmt: str, location: str) -> pd.DataFrame:
    """Parse a seekable binary handle in one of the supported formats, whole; every column as read, named
    by str. csv, tsv and lines files carry their line count in `frame.attrs["read"]` (lines, blank)."""
    chunks = list(iter_table(handle, spec, fmt, location, chunk_bytes=None))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame.attrs = dict(chunks[-1].attrs)
    return frame


def rows_per_chunk(handle: Any, chunk_bytes: int) -> int:
    """About how many records of this file make `chunk_bytes`, judged from its first MiB."""
    start = handle.tell()
    sample = handle.read(1 << 20)
    handle.seek(start)
    lines = sample.count(b"\n") or 1
    return max(100, chunk_bytes * lines // max(len(sample), 1))


def iter_table(handle: Any, spec: TableFormat, fmt: str, location: str, chunk_bytes: int | None = CHUNK_BYTES,
               columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """parse_table, chunk by chunk: tables of every column as read (or of `columns` only, where the format
    can skip the others and has them all), each from about `chunk_bytes` of the file (None: one table).
    The line count of csv, tsv and lines files is checked against the parser's rows once the last chunk
    is read, and that chunk carries it in `attrs["read"]`. Always at least one table (maybe empty)."""
    header = 0 if spec.header else None
    quote = quoting(spec, fmt, location)
    count = None
    chunks: Iterator[pd.DataFrame]
    try:
        if fmt in ("csv", "tsv"):
            sep = spec.sep or ("\t" if fmt == "tsv" else ",")
            start = handle.tell()
            if quote and len(sep) != 1:  # the schema refuses it where it knows the format: this is the rest
                raise PipelineError(f"{location}: quote processing needs a one-character `sep` (got {sep!r}); "
                                    f"set `quote: false`")
            counter = count_quoted if quote else count_unquoted
            with closing(text_lines(handle, spec.encoding, location)) as lines:
                count = counter(lines, sep, spec.header, location, fmt)
            handle.seek(start)
            size = None if chunk_bytes is None else rows_per_chunk(handle, chunk_bytes)
            # pandas splits on a longer sep as a regular expression (with its python engine): escaped, it
            # is split on literally, as the line count and `lines` files do ("||" is two bars, not a regex).
            read = pd.read_csv(
                handle, sep=sep if len(sep) == 1 else re.escape(sep), header=header, encoding=spec.encoding,
                dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
                engine="c" if len(sep) == 1 else "python", chunksize=size,
            )
            chunks = iter([read]) if size is None else iter(read)
        elif fmt == "jsonl":
            size = None if chunk_bytes is None else rows_per_chunk(handle, chunk_bytes)
            read = pd.read_json(handle, lines=True, dtype=False, encoding=spec.encoding, chunksize=size)
            chunks = iter([read]) if size is None else iter(read)
        elif fmt == "parquet":
            chunks = _parquet_batches(handle, chunk_bytes, columns)
        else:
            count = LineCount()
            chunks = _parse_lines(handle, spec, location, count, chunk_bytes)
        yield from _checked(chunks, count, fmt, location, quote)
    except PipelineError:
        raise
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{location}: empty file (no header, no rows)") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise PipelineError(f"{location}: malformed {fmt} file ({detail})") from None


def _checked(chunks: Iterator[pd.DataFrame], count: LineCount | None, fmt: str, location: str,
             quote: bool) -> Iterator[pd.DataFrame]:
    """The chunks with str column names, one held back so that the last can carry the line count once
    the parser's rows are checked against it."""
    held = None
    parsed = 0
    for chunk in chunks:
        chunk.columns = [str(c) for c in chunk.columns]
        parsed += len(chunk)
        if held is not None:
            yield held
        held = chunk
    if held is None:  # pandas yields no chunk for a file without rows
        held = pd.DataFrame()
    if held.columns.empty:  # an empty jsonl (or lines) file: no rows and no columns to name as missing
        raise PipelineError(f"{location}: empty file (no header, no rows)")
    if count is not None:
        if parsed != count.records:  # the parser and the line count disagree: never silently
            raise PipelineError(
                f"{location}: the {fmt} parser read {parsed} rows, but the file holds {count.records} "
                f"records on {count.lines} lines ({'with' if quote else 'without'} quote processing)"
            )
        held.attrs["read"] = count.as_attrs()
    yield held


def _parquet_batches(handle: Any, chunk_bytes: int | None, columns: list[str] | None) -> Iterator[pd.DataFrame]:
    if chunk_bytes is None:
        yield pd.read_parquet(handle)
        return
    import pyarrow.parquet as pq

    file = pq.ParquetFile(handle)
    meta = file.metadata
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    size = max(100, chunk_bytes * max(meta.num_rows, 1) // max(total, 1))
    names = file.schema_arrow.names
    wanted = columns if columns is not None and set(columns) <= set(names) else None
    for batch in file.iter_batches(batch_size=size, columns=wanted):
        yield batch.to_pandas()


def _parse_lines(handle: Any, spec: TableFormat, location: str, count: LineCount,
                 chunk_bytes: int | None) -> Iterator[pd.DataFrame]:
    """`text<sep>label` per line; the label is after the last separator, so texts may hold it."""
    sep = spec.sep or ";"
    size = None if chunk_bytes is None else rows_per_chunk(handle, chunk_bytes)
    rows: list[tuple[str, str]] = []
    with closing(text_lines(handle, spec.encoding, location)) as lines:
        for number, raw in enumerate(lines, start=1):
            line = strip_end(raw)
            count.lines += 1
            if not line.strip():
                count.blank += 1
                continue
            if sep not in line:
                raise ValueError(f"line {number} has no {sep!r} between text and label")
            body, label = line.rsplit(sep, 1)
            rows.append((body, label.strip()))
            count.records += 1
            if size is not None and len(rows) >= size:
                yield pd.DataFrame(rows, columns=["text", "label"])
                rows = []
    yield pd.DataFrame(rows, columns=["text", "label"])
