"""Parquet tables read and written in record batches (data.streaming): memory holds one batch, not the table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlkit.core.errors import PipelineError

# Rows per batch: a batch's hashed features (about 40 n-grams a text) stay in tens of MiB.
BATCH_ROWS = 65_536
# The table contract's text columns: every streamed table has this schema, whichever batch comes first.
SCHEMA = pa.schema([("id", pa.string()), ("text", pa.large_string()), ("label", pa.string()),
                    ("source", pa.string())])


def parquet_file(path: Path | str) -> pq.ParquetFile:
    if not Path(path).is_file():
        raise PipelineError(f"{path}: no such file (run the stage that writes it: dvc repro)")
    return pq.ParquetFile(path)


def row_count(path: Path | str) -> int:
    """The rows of a parquet file, from its footer (nothing read)."""
    return int(parquet_file(path).metadata.num_rows)


def iter_frames(path: Path | str, columns: Sequence[str] | None = None,
                batch_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The file's rows in order, `batch_rows` (BATCH_ROWS) at a time within each row group, as pandas frames
    (strings Arrow-backed). Memory holds one row group: every table here is written a batch per row group."""
    file = parquet_file(path)
    size = batch_rows or BATCH_ROWS  # read when called: a memory test runs the stages with small batches
    names = list(columns) if columns else None
    # Row group by row group, not ParquetFile.iter_batches: its allocations grow by each batch read until the
    # file ends (about 6 MiB a 65,536-row batch here), as apache/arrow#39808 reports for Dataset.to_batches.
    for group in range(file.metadata.num_row_groups):
        table = file.read_row_group(group, columns=names)
        for start in range(0, table.num_rows, size):
            yield table.slice(start, size).to_pandas(types_mapper=_arrow_strings)


def _arrow_strings(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    return pd.StringDtype("pyarrow") if pa.types.is_string(kind) or pa.types.is_large_string(kind) else None


def read_rows(path: Path | str, rows: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows at the sorted positions `rows`, read row group by row group (only the groups holding them)."""
    file = parquet_file(path)
    parts: list[pa.Table] = []
    start = 0
    for group in range(file.metadata.num_row_groups):
        end = start + file.metadata.row_group(group).num_rows
        lo, hi = np.searchsorted(rows, [start, end])
        if hi > lo:
            table = file.read_row_group(group, columns=list(columns) if columns else None)
            parts.append(table.take(pa.array(rows[lo:hi] - start)))
        start = end
    table = pa.concat_tables(parts) if parts else file.schema_arrow.empty_table()
    return table.to_pandas(types_mapper=_arrow_strings)


class TableWriter:
    """A parquet file written batch by batch with the table contract's schema (SCHEMA), one row group a batch."""

    def __init__(self, path: Path | str, schema: pa.Schema = SCHEMA):
        self.schema = schema
        self.writer = pq.ParquetWriter(path, schema)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame[self.schema.names], schema=self.schema, preserve_index=False)
        self.writer.write_table(table.replace_schema_metadata(None))
        self.rows += len(frame)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.writer.close()
