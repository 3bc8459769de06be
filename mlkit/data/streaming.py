"""data.streaming: fetch, split and augment's pass-through over Arrow record batches, so that memory holds one
batch of rows (and fetch 32 bytes a row read: the text hashes that settle duplicates), not the table."""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlkit.core.batches import TableWriter, iter_frames, row_count
from mlkit.core.errors import PipelineError
from mlkit.core.params import DataParams, SplitParams
from mlkit.core.paths import SPLITS
from mlkit.core.table import dedupe_key, natural
from mlkit.data.dataset import Reading, decide_task, drop_order, positive_label, row_ids, source_columns
from mlkit.data.dedupe import Spill, sample_rows, settle

STREAMING = "data.streaming: true"


def _ordered(counts: Counter) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: natural(str(kv[0])))}


def fetch_streamed(chunks: Iterable[pd.DataFrame], params: DataParams, out: Path) -> dict[str, Any]:
    """Write the clean dataset to `out` batch by batch and return its data card: the same rows, ids and card as
    build_dataset (dedupe, conflicts and data.limit settled on the text hashes), in the sources' order."""
    with tempfile.TemporaryDirectory(prefix="mlkit-fetch-") as folder:
        reading = Reading(params, Spill(folder))
        for chunk in chunks:
            reading.add(chunk)
        if reading.numeric:
            raise PipelineError(f"{STREAMING} streams texts, and data.sources give numeric features; allowed: false")
        if reading.kind and reading.kind[0] != "label":
            raise PipelineError(f"{STREAMING} streams single-label texts, and data.sources give label_columns "
                                "(multilabel); allowed: false")
        dropped = Counter({"blank line": reading.blank}) + reading.dropped
        table = reading.table()
        keep, settled = settle(table, params.conflicts)
        dropped += settled
        if not len(keep):
            reasons = ", ".join(f"{k}: {v}" for k, v in (+dropped).items()) or "the sources are empty"
            raise PipelineError(f"data: no rows left after cleaning ({reasons})")
        chosen = sample_rows(len(keep), params)
        if chosen is not None:
            dropped["over data.limit"] = len(keep) - len(chosen)
            keep = keep[chosen]
        codes = {name: table[name].to_numpy()[keep] for name in ("target", "source", "row")}
        del table
        targets = np.array(list(reading.targets), dtype=object)
        sources = np.array(list(reading.sources), dtype=object)
        # One row per label (its first kept row) is all decide_task reads: the label set and, for an error,
        # where a label stands.
        present, first = np.unique(codes["target"], return_index=True)
        examples = pd.DataFrame({"label": targets[present].astype(str), "source": sources[codes["source"][first]],
                                 "row": codes["row"][first]})
        task, labels = decide_task(examples, params)
        per_source: Counter = Counter()
        per_label: Counter = Counter()
        reading.spill.take(np.empty(0, dtype=np.int64))  # closes the spill file
        file = pq.ParquetFile(reading.spill.path)
        with TableWriter(out) as writer:
            start = 0
            for group in range(file.metadata.num_row_groups):
                end = start + file.metadata.row_group(group).num_rows
                lo, hi = np.searchsorted(keep, [start, end])
                if hi > lo:
                    texts = file.read_row_group(group).column("text").take(pa.array(keep[lo:hi] - start))
                    frame = pd.DataFrame({
                        "text": pd.Series(pd.arrays.ArrowStringArray(texts.combine_chunks())),
                        "label": targets[codes["target"][lo:hi]].astype(str),
                        "source": sources[codes["source"][lo:hi]].astype(str),
                        "row": codes["row"][lo:hi]})
                    frame["id"] = row_ids(frame)
                    writer.write(frame)
                    per_source.update(frame["source"].value_counts().to_dict())
                    per_label.update(frame["label"].value_counts().to_dict())
                start = end
    order = {name: i for i, name in enumerate(sources[codes["source"][np.sort(
        np.unique(codes["source"], return_index=True)[1])]])}
    return {
        "task": task,
        "labels": labels,
        "positive_label": positive_label(task, labels, params),
        "columns": source_columns(params),
        "label_map": dict(params.label_map),
        "rows": len(keep),
        "lines_read": dict(reading.lines),
        "rows_read": dict(reading.rows),
        "rows_per_source": {name: int(per_source[name]) for name in sorted(per_source, key=order.__getitem__)},
        "rows_per_label": _ordered(per_label),
        "dropped": {reason: dropped[reason] for reason in sorted(+dropped, key=drop_order)},
    }


def split_key(seed: int) -> str:
    """The 16-character hash key the split's hashes use: one per split.seed."""
    return hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()


def split_places(texts: pd.Series, params: SplitParams) -> np.ndarray:
    """Each text's split (0 train, 1 valid, 2 test), from a 64-bit hash of its dedupe key (fetch's
    normalisation: case folded, spacing normalised): a text and its duplicates always land together."""
    hashes = pd.util.hash_pandas_object(dedupe_key(texts), index=False, hash_key=split_key(params.seed)).to_numpy()
    share = hashes.astype(np.float64) / 2.0**64  # uniform in [0, 1)
    return np.searchsorted(np.array([params.train, params.train + params.valid]), share, side="right")


def split_streamed(raw: Path | str, params: SplitParams, folder: Path) -> dict[str, Any]:
    """data/raw.parquet into folder/{train,valid,test}.parquet batch by batch; split.json's statistics."""
    labels: dict[str, Counter] = {name: Counter() for name in SPLITS}
    writers = [TableWriter(folder / f"{name}.parquet") for name in SPLITS]
    try:
        for frame in iter_frames(raw):
            places = split_places(frame["text"], params)
            for index, (name, writer) in enumerate(zip(SPLITS, writers)):
                part = frame[places == index]
                writer.write(part)
                labels[name].update(part["label"].value_counts().to_dict())
    finally:
        for writer in writers:
            writer.writer.close()
    rows = {name: writer.rows for name, writer in zip(SPLITS, writers)}
    if not all(rows.values()):
        shares = f"{params.train}:{params.valid}:{params.test}"
        raise PipelineError(f"split: cannot split {sum(rows.values())} rows {shares} (a split would be empty)")
    stats = {name: {"rows": rows[name], "labels": _ordered(labels[name])} for name in SPLITS}
    # 0 by construction: a text's split is a function of its dedupe key.
    return {**stats, "texts_in_two_splits": 0}


def pass_through(train: Path | str, out: Path) -> dict[str, Any]:
    """augment with no methods: the train split copied batch by batch, and augment's card."""
    counts: Counter = Counter()
    with TableWriter(out) as writer:
        for frame in iter_frames(train):
            writer.write(frame)
            counts.update(frame["label"].value_counts().to_dict())
    rows = row_count(out)
    labels = _ordered(counts)
    return {"methods": [], "rows_before": rows, "rows_after": rows, "rows_per_method": {"original": rows},
            "labels_before": labels, "labels_after": labels}
