"""Assemble the sources into one clean dataset and decide the task and label set, once."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.core.params import Columns, DataParams
from mlkit.core.table import dedupe_key, has_text, label_counts, label_key, natural


@dataclass
class Cleaned:
    frame: pd.DataFrame
    dropped: Counter = field(default_factory=Counter)


# What spreadsheets, pandas, R and databases write for a missing value. Such a label cell is missing,
# not a class, unless params name it (data.labels, a data.label_map key or data.drop_labels). Exact
# and case-sensitive: lowercase `none` and `na` are plausible class names and stay labels.
MISSING_LABELS = frozenset({"NaN", "nan", "NA", "<NA>", "N/A", "n/a", "#N/A", "null", "NULL", "None"})


def normalise_whitespace(texts: pd.Series) -> pd.Series:
    return texts.str.replace(r"\s+", " ", regex=True).str.strip()


def row_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id from source name and original row, so later rows can point to their origin."""
    keys = frame["source"].astype(str) + ":" + frame["row"].astype(str)
    return keys.map(lambda k: hashlib.sha1(k.encode()).hexdigest()[:16])


def read_counts(frames: list[pd.DataFrame]) -> tuple[dict[str, int], dict[str, int], int]:
    """Rows read per source, lines read per source of a line-based format (csv, tsv, lines; the header
    not counted), and blank lines. A blank line is a row read and dropped, so an unquoted file's lines
    equal its rows; a quoted csv has more lines than rows when its texts hold line breaks."""
    rows: Counter = Counter()
    lines: Counter = Counter()
    blank = 0
    for frame in frames:
        for name, size in frame.groupby("source", sort=False).size().items():
            rows[str(name)] += int(size)
        read = frame.attrs.get("read")
        if read is not None:
            name = str(frame.attrs["source"])
            lines[name] += read["lines"]
            rows[name] += read["blank"]
            blank += read["blank"]
    return dict(rows), dict(lines), blank


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    kinds = {label_key(f) for f in frames}
    if len(kinds) > 1:
        raise PipelineError(
            "data.sources: some sources have one label column and others a list of label_columns; "
            "use one kind for every source"
        )
    if len({has_text(f) for f in frames}) > 1:
        raise PipelineError("data.sources: digits (numeric features) cannot be mixed with text sources")
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = {}  # the sources' line counts go to the card, not into the parquet file's metadata
    return frame


def map_labels(frame: pd.DataFrame, params: DataParams) -> Cleaned:
    """Apply label_map and drop_labels, then check every label against the declared set."""
    key = label_key(frame)
    dropped: Counter = Counter()
    mapping = params.label_map
    drop = set(params.drop_labels)
    if key == "label":
        named = set(mapping) | drop | set(params.labels or [])
        missing = frame["label"].str.strip().eq("") | frame["label"].isin(MISSING_LABELS - named)
        dropped["missing label"] += int(missing.sum())
        frame = frame[~missing]
        frame = frame.assign(label=frame["label"].map(lambda v: mapping.get(v, v)))
        keep = ~frame["label"].isin(drop)
        dropped["label in data.drop_labels"] += int((~keep).sum())
        frame = frame[keep]
        seen = set(frame["label"])
    else:
        labels = frame["labels"].map(lambda ls: sorted({mapping.get(v, v) for v in ls} - drop))
        frame = frame.assign(labels=labels)
        empty = frame["labels"].map(len) == 0
        dropped["no label"] += int(empty.sum())
        frame = frame[~empty]
        seen = {label for ls in frame["labels"] for label in ls}
    if params.labels is not None:
        unknown = sorted(seen - set(params.labels))
        if unknown:
            row = frame[frame[key].map(lambda v: bool(set([v] if isinstance(v, str) else v) & set(unknown)))].iloc[0]
            raise PipelineError(
                f"source {row['source']!r} row {row['row']}: label {unknown[0]!r} is not in data.labels "
                f"({', '.join(params.labels)}); map it with data.label_map or drop it with data.drop_labels"
            )
    return Cleaned(frame, +dropped)


def clean_texts(frame: pd.DataFrame, conflicts: str) -> Cleaned:
    """Normalise whitespace, drop empty texts, keep one row per text, settle conflicting labels."""
    dropped: Counter = Counter()
    frame = frame.assign(text=normalise_whitespace(frame["text"]))
    empty = frame["text"] == ""
    dropped["empty text"] = int(empty.sum())
    frame = frame[~empty]

    key = label_key(frame)
    target = frame[key].map(lambda v: v if isinstance(v, str) else "\x1f".join(v))  # hashable label
    keyed = frame.assign(_key=dedupe_key(frame["text"]), _target=target)
    n_targets = keyed.groupby("_key", sort=False)["_target"].transform("nunique")
    clean = keyed[n_targets == 1]
    dup = clean.duplicated("_key")
    dropped["duplicate text"] = int(dup.sum())
    kept = [clean[~dup].drop(columns=["_key", "_target"])]

    conflicted = keyed[n_targets > 1]
    if len(conflicted):
        if conflicts == "drop":
            dropped["conflicting labels"] = len(conflicted)
        else:
            winners = []
            for _, group in conflicted.groupby("_key", sort=False):
                counts = group["_target"].value_counts()
                if len(counts) > 1 and counts.iloc[0] == counts.iloc[1]:
                    dropped["conflicting labels, no majority"] += len(group)
                    continue
                winners.append(group[group["_target"] == counts.index[0]].iloc[:1])
                dropped["conflicting labels, outvoted or duplicate"] += len(group) - 1
            if winners:
                kept.append(pd.concat(winners).drop(columns=["_key", "_target"]))
    result = pd.concat(kept).sort_index()
    return Cleaned(result, +dropped)


def decide_task(frame: pd.DataFrame, params: DataParams) -> tuple[str, list[str]]:
    key = label_key(frame)
    if key == "labels":
        labels = sorted({label for ls in frame["labels"] for label in ls})
        task = "multilabel"
    else:
        labels = sorted(frame["label"].unique(), key=natural)
        task = "binary" if len(labels) == 2 else "multiclass"
    if params.labels is not None:
        labels = [label for label in params.labels if label in set(labels)]
    if len(labels) < 2:
        raise PipelineError(f"data: only {len(labels)} label(s) left after cleaning ({', '.join(labels)}); "
                            "need 2 or more")
    if params.task != "auto" and params.task != task:
        raise PipelineError(
            f"data.task: is {params.task!r} but the data is {task} ({len(labels)} labels: {', '.join(labels[:10])})"
        )
    return task, labels




def positive_label(task: str, labels: list[str], params: DataParams) -> str | None:
    """The binary task's positive class (default: the last label); refused for any other task."""
    given = params.positive_label
    if task != "binary":
        if given is not None:
            raise PipelineError(f"params.yaml: data.positive_label: {given!r} applies only to a binary task; this "
                                f"one is {task} ({len(labels)} labels); allowed: null")
        return None
    if given is not None and given not in labels:
        raise PipelineError(f"params.yaml: data.positive_label: {given!r} is not a label of this binary task; "
                            f"allowed: {', '.join(labels)} or null (the last, {labels[-1]!r})")
    return given if given is not None else labels[-1]


def source_columns(params: DataParams) -> dict[str, Any] | None:
    """The text and label column names of the first source that names them (a file or Hub table): what
    `mlkit predict` reads from a new file by default (the train stage copies them into the model card)."""
    for spec in params.sources:
        if isinstance(spec, Columns):
            return {"text_column": spec.text_column, "label_column": spec.label_column,
                    "label_columns": spec.label_columns}
    return None


def build_dataset(frames: list[pd.DataFrame], params: DataParams) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Turn the raw source tables into the clean dataset and its data card."""
    rows_read, lines_read, blank = read_counts(frames)
    frame = combine(frames)
    mapped = map_labels(frame, params)
    dropped = Counter({"blank line": blank}) + mapped.dropped
    frame = mapped.frame
    if has_text(frame):
        cleaned = clean_texts(frame, params.conflicts)
        dropped += cleaned.dropped
        frame = cleaned.frame
    if frame.empty:
        reasons = ", ".join(f"{k}: {v}" for k, v in dropped.items()) or "the sources are empty"
        raise PipelineError(f"data: no rows left after cleaning ({reasons})")
    if params.limit is not None and len(frame) > params.limit:
        dropped["over data.limit"] = len(frame) - params.limit
        frame = frame.sample(n=params.limit, random_state=params.seed).sort_index()
    task, labels = decide_task(frame, params)
    frame = frame.assign(id=row_ids(frame))
    columns = ["id", "text" if has_text(frame) else "features", label_key(frame), "source"]
    frame = frame[columns].reset_index(drop=True)
    card = {
        "task": task,
        "labels": labels,
        "positive_label": positive_label(task, labels, params),
        "columns": source_columns(params),
        "rows": len(frame),
        "lines_read": lines_read,
        "rows_read": rows_read,
        "rows_per_source": frame.groupby("source", sort=False).size().to_dict(),
        "rows_per_label": label_counts(frame),
        "dropped": dict(dropped),
    }
    return frame, card
