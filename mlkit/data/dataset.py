"""Assemble the sources into one clean dataset and decide the task and label set, once."""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.core.params import Columns, DataParams
from mlkit.core.table import dedupe_key, has_text, label_counts, label_key, natural
from mlkit.data.dedupe import HASH_KEYS, Spill, sample_rows, settle, target_text


@dataclass
class Cleaned:
    frame: pd.DataFrame
    dropped: Counter = field(default_factory=Counter)


# What spreadsheets, pandas, R and databases write for a missing value. Such a label cell is missing,
# not a class, unless params name it (data.labels, a data.label_map key or data.drop_labels). Exact
# and case-sensitive: lowercase `none` and `na` are plausible class names and stay labels.
MISSING_LABELS = frozenset({"NaN", "nan", "NA", "<NA>", "N/A", "n/a", "#N/A", "null", "NULL", "None"})


def normalise_whitespace(texts: pd.Series) -> pd.Series:
    """Runs of whitespace as one space, none at the ends: str.split() splits on exactly what the regular
    expression `\\s+` matches (str.isspace), at a tenth of the regex's time on long texts."""
    return pd.Series([" ".join(text.split()) for text in texts], index=texts.index, dtype=texts.dtype)


def row_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id from source name and original row, so later rows can point to their origin."""
    keys = frame["source"].astype(str) + ":" + frame["row"].astype(str)
    return keys.map(lambda k: hashlib.sha1(k.encode()).hexdigest()[:16])


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


class Reading:
    """What one pass over the sources' chunks keeps: the counts for the card and, per text row, only its
    position, text key and label; the texts themselves wait in a spill file on disk (`Spill`)."""

    def __init__(self, params: DataParams, spill: Spill):
        self.params = params
        self.spill = spill
        self.rows: Counter = Counter()
        self.lines: Counter = Counter()
        self.blank = 0
        self.dropped: Counter = Counter()
        self.kind: tuple[str, bool] | None = None
        self.targets: dict[str, int] = {}  # label (multilabel: its labels joined) -> code
        self.sources: dict[str, int] = {}
        self.columns: dict[str, list[np.ndarray]] = {"hash1": [], "hash2": [], "target": [], "source": [], "row": []}
        self.numeric: list[pd.DataFrame] = []  # numeric features (digits): small, kept as they are

    def add(self, chunk: pd.DataFrame) -> None:
        for name, size in chunk.groupby("source", sort=False).size().items():
            self.rows[str(name)] += int(size)
        read = chunk.attrs.get("read")
        if read is not None:
            name = str(chunk.attrs["source"])
            self.lines[name] += read["lines"]
            self.rows[name] += read["blank"]
            self.blank += read["blank"]
        if chunk.empty and "source" not in chunk.columns:
            return
        self._check_kind(chunk)
        mapped = map_labels(chunk, self.params)
        self.dropped += mapped.dropped
        frame = mapped.frame
        if not has_text(frame):
            self.numeric.append(frame)
            return
        frame = frame.assign(text=normalise_whitespace(frame["text"]))
        empty = frame["text"] == ""
        self.dropped["empty text"] += int(empty.sum())
        frame = frame[~empty]
        key = dedupe_key(frame["text"])
        # Two independent 64-bit hashes stand for the text: a wrong merge needs both to collide.
        self.columns["hash1"].append(pd.util.hash_pandas_object(key, index=False, hash_key=HASH_KEYS[0]).to_numpy())
        self.columns["hash2"].append(pd.util.hash_pandas_object(key, index=False, hash_key=HASH_KEYS[1]).to_numpy())
        self.columns["target"].append(self._codes(target_text(frame[label_key(frame)]), self.targets))
        self.columns["source"].append(self._codes(frame["source"].astype(str), self.sources))
        self.columns["row"].append(frame["row"].to_numpy(dtype=np.int64))
        self.spill.write(frame["text"])

    def _check_kind(self, chunk: pd.DataFrame) -> None:
        kind = (label_key(chunk), has_text(chunk))
        if self.kind is None:
            self.kind = kind
        elif kind[0] != self.kind[0]:
            raise PipelineError(
                "data.sources: some sources have one label column and others a list of label_columns; "
                "use one kind for every source"
            )
        elif kind[1] != self.kind[1]:
            raise PipelineError("data.sources: digits (numeric features) cannot be mixed with text sources")

    @staticmethod
    def _codes(values: pd.Series, codes: dict[str, int]) -> np.ndarray:
        inverse, uniques = pd.factorize(values)
        mine = np.array([codes.setdefault(str(u), len(codes)) for u in uniques], dtype=np.int32)
        return mine[inverse] if len(inverse) else np.empty(0, dtype=np.int32)

    def table(self) -> pd.DataFrame:
        """One row per text row read (empty texts and dropped labels left out), in the sources' order."""
        return pd.DataFrame({name: np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
                             for name, parts in self.columns.items()})


def collect(chunks: Iterable[pd.DataFrame], params: DataParams, folder: str) -> tuple[pd.DataFrame, Counter, Reading]:
    """Read every chunk once; the clean rows (data.limit applied) as one table, and the rows dropped by reason."""
    reading = Reading(params, Spill(folder))
    for chunk in chunks:
        reading.add(chunk)
    dropped = Counter({"blank line": reading.blank}) + reading.dropped
    if reading.numeric:
        frame = pd.concat(reading.numeric)
        frame.attrs = {}
        if params.limit is not None and len(frame) > params.limit:
            dropped["over data.limit"] = len(frame) - params.limit
            frame = frame.sample(n=params.limit, random_state=params.seed).sort_index()
        return frame, +dropped, reading
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
    rows = table.iloc[keep]
    targets = np.array(list(reading.targets), dtype=object)[rows["target"].to_numpy()]
    key = reading.kind[0] if reading.kind else "label"
    labels = (pd.Series(targets, dtype="string") if key == "label"
              else pd.Series([t.split("\x1f") for t in targets], dtype=object))
    frame = pd.DataFrame({
        "text": pd.Series(pd.arrays.ArrowStringArray(reading.spill.take(keep))),
        key: labels,
        "source": np.array(list(reading.sources), dtype=object)[rows["source"].to_numpy()],
        "row": rows["row"].to_numpy(),
    })
    return frame, +dropped, reading


def spelling(label: str) -> str:
    """What two spellings of one class share: `Pos`, `pos` and `pos ` are one spelling, `positive` another."""
    return " ".join(label.split()).casefold()


def check_spellings(frame: pd.DataFrame, labels: list[str], params: DataParams) -> None:
    """Labels that differ only in case or spacing are almost always one class typed twice; taking them as
    two classes splits it without a word. They are refused unless data.labels lists each spelling."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(spelling(label), []).append(label)
    declared = set(params.labels or [])
    for variants in groups.values():
        if len(variants) < 2 or set(variants) <= declared:
            continue
        key, second = label_key(frame), variants[1]
        has = (frame[key] == second) if key == "label" else frame[key].map(lambda ls, v=second: v in ls)
        row = frame[has.to_numpy(dtype=bool)].iloc[0]
        spelled = " and ".join(repr(v) for v in variants)
        onto_first = ", ".join(f"{v}: {variants[0]}" for v in variants[1:])
        raise PipelineError(
            f"data: labels {spelled} differ only in case or spacing (source {row['source']!r} row {row['row']} "
            f"has {variants[1]!r}); one class: data.label_map: {{{onto_first}}}; separate "
            "classes: list each spelling in data.labels")


def decide_task(frame: pd.DataFrame, params: DataParams) -> tuple[str, list[str]]:
    key = label_key(frame)
    if key == "labels":
        labels = sorted({label for ls in frame["labels"] for label in ls})
        task = "multilabel"
    else:
        labels = sorted(frame["label"].unique(), key=natural)
        task = "binary" if len(labels) == 2 else "multiclass"
    check_spellings(frame, labels, params)
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




# scikit-learn's pos_label=1 convention, and its spelled-out kin: a pair whose positive class is obvious.
# For any other pair (disaster/other, ham/spam) a default would be a guess, and a wrong guess reports the
# other class's F1 as `f1` without a word, so the binary task then has no `f1` until positive_label names one.
OBVIOUS_POSITIVE = {frozenset({"0", "1"}): "1", frozenset({"0.0", "1.0"}): "1.0", frozenset({"-1", "1"}): "1",
                    frozenset({"false", "true"}): "true", frozenset({"no", "yes"}): "yes"}


def positive_label(task: str, labels: list[str], params: DataParams) -> str | None:
    """The binary task's positive class: data.positive_label, else the obvious one of a 0/1 (false/true,
    no/yes) pair, else none; refused for any other task."""
    given = params.positive_label
    if task != "binary":
        if given is not None:
            raise PipelineError(f"params.yaml: data.positive_label: {given!r} applies only to a binary task; this "
                                f"one is {task} ({len(labels)} labels); allowed: null")
        return None
    if given is not None and given not in labels:
        raise PipelineError(f"params.yaml: data.positive_label: {given!r} is not a label of this binary task; "
                            f"allowed: {', '.join(labels)} or null")
    if given is not None:
        return given
    by_lower = {label.lower(): label for label in labels}
    obvious = OBVIOUS_POSITIVE.get(frozenset(by_lower))
    return by_lower[obvious] if obvious else None


def source_columns(params: DataParams) -> dict[str, Any] | None:
    """The text and label column names of the first source that names them (a file or Hub table): what
    `mlkit predict` reads from a new file by default (the train stage copies them into the model card)."""
    for spec in params.sources:
        if isinstance(spec, Columns):
            return {"text_column": spec.text_column, "label_column": spec.label_column,
                    "label_columns": spec.label_columns, "text_column_delimiter": spec.text_column_delimiter}
    return None


DROP_ORDER = ("blank line", "missing label", "label in data.drop_labels", "no label", "empty text", "duplicate text",
              "conflicting labels", "conflicting labels, no majority", "conflicting labels, outvoted or duplicate",
              "over data.limit")


def drop_order(reason: str) -> int:
    """The card lists drop reasons in the order of cleaning, whichever chunk met each reason first."""
    return DROP_ORDER.index(reason) if reason in DROP_ORDER else len(DROP_ORDER)


def build_dataset(chunks: Iterable[pd.DataFrame], params: DataParams) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Turn the sources' tables (whole, or chunk by chunk as `iter_source` reads them, in the sources'
    order) into the clean dataset and its data card. Memory holds the rows kept plus one chunk."""
    with tempfile.TemporaryDirectory(prefix="mlkit-fetch-") as folder:
        frame, dropped, reading = collect(chunks, params, folder)
    rows_read, lines_read = dict(reading.rows), dict(reading.lines)
    task, labels = decide_task(frame, params)
    frame = frame.assign(id=row_ids(frame))
    columns = ["id", "text" if has_text(frame) else "features", label_key(frame), "source"]
    frame = frame[columns].reset_index(drop=True)
    card = {
        "task": task,
        "labels": labels,
        "positive_label": positive_label(task, labels, params),
        "columns": source_columns(params),
        "label_map": dict(params.label_map),  # predict maps a labelled file's labels the same way
        "rows": len(frame),
        "lines_read": lines_read,
        "rows_read": rows_read,
        "rows_per_source": frame.groupby("source", sort=False).size().to_dict(),
        "rows_per_label": label_counts(frame),
        "dropped": {reason: dropped[reason] for reason in sorted(dropped, key=drop_order)},
    }
    return frame, card
