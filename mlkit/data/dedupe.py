"""Deduplication and conflicting labels over a stream of chunks: texts are kept as two 64-bit hashes and
spilled to a temporary parquet file, so memory holds the rows fetch keeps, not every row it reads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlkit.core.params import DataParams

HASH_KEYS = ("mlkit text key 1", "mlkit text key 2")  # 16 bytes each, as pandas' hash wants


def target_text(labels: pd.Series) -> pd.Series:
    """A hashable label: multilabel's label list joined (its labels sorted by map_labels)."""
    return labels.map(lambda v: v if isinstance(v, str) else "\x1f".join(v))


class Spill:
    """The text rows of one pass, written to a temporary parquet file chunk by chunk and read back for
    the rows kept: fetch's memory holds the kept texts, never every text of a large file."""

    SCHEMA = pa.schema([("text", pa.large_string())])  # pandas' "string" dtype is Arrow large_string

    def __init__(self, folder: str):
        self.path = Path(folder) / "texts.parquet"
        self.writer: pq.ParquetWriter | None = None

    def write(self, texts: pd.Series) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.SCHEMA)
        array = pa.array(texts.array, type=pa.large_string())  # no copy for a "string" Series
        self.writer.write_table(pa.table({"text": array}), row_group_size=max(len(texts), 1))

    def take(self, keep: np.ndarray) -> pa.ChunkedArray:
        """The texts at the sorted positions `keep` (positions in the order written), as Arrow strings
        (the kept texts once in memory, never as Python objects)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        taken: list[pa.Array] = []
        if len(keep):
            file = pq.ParquetFile(self.path)
            start = 0
            for group in range(file.metadata.num_row_groups):
                end = start + file.metadata.row_group(group).num_rows
                lo, hi = np.searchsorted(keep, [start, end])
                if hi > lo:
                    column = file.read_row_group(group).column("text")
                    taken.extend(column.take(pa.array(keep[lo:hi] - start)).chunks)
                start = end
        # One contiguous array (a moment with the kept texts twice): the parquet writer's pages follow the
        # input's chunks, and raw.parquet must not change its bytes with the chunk size.
        return pa.chunked_array([pa.concat_arrays(taken)] if taken else [], type=pa.large_string())


def settle(table: pd.DataFrame, conflicts: str) -> tuple[np.ndarray, Counter]:
    """Which text rows stay (a sorted array of their places in `table`): one row per text, conflicting
    labels settled by `conflicts`, as `clean_texts` does on a table in memory."""
    dropped: Counter = Counter()
    keys = ["hash1", "hash2"]
    n_targets = table.groupby(keys, sort=False)["target"].transform("nunique").to_numpy()
    clean = table[n_targets == 1]
    first = ~clean.duplicated(keys).to_numpy()
    dropped["duplicate text"] = int((~first).sum())
    kept = [clean.index.to_numpy()[first]]
    conflicted = table[n_targets > 1]
    if len(conflicted):
        if conflicts == "drop":
            dropped["conflicting labels"] = len(conflicted)
        else:
            votes = (conflicted.assign(place=conflicted.index).groupby([*keys, "target"], sort=False)
                     .agg(size=("place", "size"), first=("place", "min")).reset_index())
            per_text = votes.groupby(keys, sort=False)["size"]
            leads = votes["size"] == per_text.transform("max")
            tied = (votes.assign(lead=leads).groupby(keys, sort=False)["lead"].transform("sum") > 1).to_numpy()
            dropped["conflicting labels, no majority"] = int(votes.loc[tied, "size"].sum())
            winners = votes[leads.to_numpy() & ~tied]
            outvoted = per_text.transform("sum")[winners.index] - 1
            dropped["conflicting labels, outvoted or duplicate"] = int(outvoted.sum())
            kept.append(winners["first"].to_numpy())
    return np.sort(np.concatenate(kept)), dropped


def sample_rows(count: int, params: DataParams) -> np.ndarray | None:
    """The places (sorted) of the data.limit rows kept out of `count`, or None to keep all: the same draw
    as pandas' `frame.sample(n=limit, random_state=seed)` on those rows, which fetch used to make."""
    if params.limit is None or count <= params.limit:
        return None
    chosen = np.random.RandomState(params.seed).choice(count, size=params.limit, replace=False)
    return np.sort(chosen)
