"""Train/valid/test split: stratified (iteratively for multilabel), each text in one split only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MultiLabelBinarizer

from mlkit.core.errors import PipelineError
from mlkit.core.params import SplitParams
from mlkit.core.paths import SPLITS
from mlkit.core.table import dedupe_key, has_text, label_key


def _two_way(frame: pd.DataFrame, second: float, seed: int, stratify: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `frame` into (rest, part) with `second` as part's share."""
    if not stratify:
        return train_test_split(frame, test_size=second, random_state=seed)
    key = label_key(frame)
    if key == "label":
        return train_test_split(frame, test_size=second, random_state=seed, stratify=frame[key])
    indicator = MultiLabelBinarizer().fit_transform(frame[key])
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=second, random_state=seed)
    rest, part = next(splitter.split(np.zeros(len(frame)), indicator))
    return frame.iloc[rest], frame.iloc[part]


def check_stratifiable(frame: pd.DataFrame, params: SplitParams) -> None:
    """A class needs a row for each split; say which class is too small before sklearn fails obscurely."""
    if not params.stratify:
        return
    key = label_key(frame)
    counts = (frame[key] if key == "label" else frame[key].explode()).value_counts()
    small = counts[counts < len(SPLITS)]
    if len(small):
        label, count = small.index[0], int(small.iloc[0])
        raise PipelineError(
            f"split: label {label!r} has {count} row(s); stratified splitting needs at least {len(SPLITS)} "
            f"(drop it with data.drop_labels, merge it with data.label_map, or set split.stratify: false)"
        )


def split_frame(frame: pd.DataFrame, params: SplitParams) -> dict[str, pd.DataFrame]:
    check_stratifiable(frame, params)
    if has_text(frame) and dedupe_key(frame["text"]).duplicated().any():
        raise PipelineError("split: the dataset holds the same text twice; it must come from the fetch stage")
    try:
        rest, test = _two_way(frame, params.test, params.seed, params.stratify)
        train, valid = _two_way(rest, params.valid / (params.train + params.valid), params.seed, params.stratify)
    except ValueError as exc:  # sklearn's own word on a split that cannot be made
        shares = f"{params.train}:{params.valid}:{params.test}"
        raise PipelineError(f"split: cannot split {len(frame)} rows {shares} ({exc})") from None
    return {name: part.sort_index().reset_index(drop=True) for name, part in zip(SPLITS, (train, valid, test))}


def overlap(parts: dict[str, pd.DataFrame]) -> int:
    """How many texts stand in more than one split (0 unless something upstream is wrong)."""
    if not has_text(next(iter(parts.values()))):
        return 0
    seen = pd.concat([dedupe_key(p["text"]).drop_duplicates() for p in parts.values()])
    return int(seen.duplicated().sum())
