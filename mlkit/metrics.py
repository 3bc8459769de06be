"""Classification metrics in one flat, readable shape for every task kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer


def as_matrix(values: Any, labels: list[str]) -> np.ndarray:
    """Label lists -> 0/1 matrix with one column per label (multilabel)."""
    return MultiLabelBinarizer(classes=labels).fit_transform([list(v) for v in values])


def targets(values: Any, task: str, labels: list[str]) -> Any:
    return as_matrix(values, labels) if task == "multilabel" else np.asarray([str(v) for v in values])


def classification_metrics(y_true: Any, y_pred: Any, task: str, labels: list[str],
                           positive: str | None = None) -> dict[str, Any]:
    """accuracy (subset accuracy for multilabel), macro/weighted F1, positive-class F1, per-label P/R/F1."""
    true, pred = targets(y_true, task, labels), targets(y_pred, task, labels)
    kwargs = {} if task == "multilabel" else {"labels": labels}
    result: dict[str, Any] = {
        "accuracy": float(accuracy_score(true, pred)),
        "f1_macro": float(f1_score(true, pred, average="macro", zero_division=0, **kwargs)),
        "f1_weighted": float(f1_score(true, pred, average="weighted", zero_division=0, **kwargs)),
    }
    if task == "multilabel":
        result["f1_micro"] = float(f1_score(true, pred, average="micro", zero_division=0))
    if task == "binary" and positive is not None:
        result["f1"] = float(f1_score(true, pred, pos_label=positive, average="binary", zero_division=0))
    precision, recall, f1, support = precision_recall_fscore_support(true, pred, zero_division=0, **kwargs)
    result["per_class"] = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    return result


def bootstrap_interval(score: Callable[[np.ndarray], float], n_rows: int, resamples: int = 1000,
                       seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of `score(rows)` over resampled row indices."""
    rng = np.random.default_rng(seed)
    values = [score(rng.integers(0, n_rows, n_rows)) for _ in range(resamples)]
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))
