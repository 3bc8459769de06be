"""Scoring a model on the splits for the evaluate stage: every summary metric per split and the train - test
gap, the headline figures DVC shows, the plots and predictions of the test split, and the printed table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlkit.core import paths
from mlkit.core.metric_names import GAP_METRICS, Metric
from mlkit.core.text_table import text_table
from mlkit.modeling.base import Model, indicator
from mlkit.modeling.metrics import classification_metrics, predictions_frame


def confusion_pairs(truth: list, predicted: list, task: str) -> tuple[list[str], list[str]]:
    """(actual, predicted) pairs; a multilabel row gives one pair per true x predicted label."""
    if task != "multilabel":
        return list(truth), list(predicted)
    actual, guessed = [], []
    for true_set, pred_set in zip(truth, predicted):
        for t in true_set:
            for p in pred_set or ["(none)"]:
                actual.append(t)
                guessed.append(p)
    return actual, guessed


def curve_inputs(truth: list, scores: np.ndarray, task: str, labels: list[str], positive: str | None):
    """Binary with a positive class: that class. Otherwise (a binary pair without one too) one-vs-rest,
    micro-averaged over labels."""
    if task == "binary" and positive is not None:
        return np.asarray([t == positive for t in truth], dtype=int), scores[:, labels.index(positive)]
    matrix = indicator(truth if task == "multilabel" else [[t] for t in truth], labels)
    return matrix.ravel(), scores.ravel()


def headline(results: dict[str, dict], metric: str) -> dict[str, dict[str, float]]:
    """What `dvc metrics show` and `dvc exp show` read: the project's metric (compare.metric) on each split and
    the test accuracy, so the table fits a terminal; every other figure is in scores.json."""
    chosen = {split: {metric: results[split][metric]} for split in paths.SPLITS}
    chosen["test"][Metric.ACCURACY] = results["test"][Metric.ACCURACY]
    return chosen


def gap(results: dict[str, dict]) -> dict[str, float]:
    """Train minus test for each gap metric the task has: a large gap is over-fitting."""
    return {name: results["train"][name] - results["test"][name] for name in GAP_METRICS if name in results["test"]}


@dataclass
class Evaluation:
    """A model's figures on every split, and the test split's rows, truth and predictions (for the plots)."""

    results: dict[str, dict[str, Any]]    # split -> classification_metrics
    sampled: tuple[int, int] | None       # (rows scored, rows) when train was scored on a sample
    test: pd.DataFrame
    truth: list
    predicted: list
    test_scores: np.ndarray               # the test rows' scores per label, from the pass that predicted them

    def gap(self) -> dict[str, float]:
        return gap(self.results)

    def scores(self) -> dict[str, Any]:
        """scores.json: every averaging per split (the sample's size when train was sampled) and the gap."""
        scores = {split: {k: v for k, v in self.results[split].items() if k != "per_class"} for split in paths.SPLITS}
        if self.sampled:
            scores["train"]["sampled_rows"] = self.sampled[0]
        return {**scores, "gap": self.gap()}

    def per_class(self) -> dict[str, Any]:
        """per_class.json: labels x 4 figures x 3 splits, in their own file."""
        return {split: {"per_class": self.results[split]["per_class"]} for split in paths.SPLITS}

    def predictions(self, task: str) -> pd.DataFrame:
        return predictions_frame(self.test, self.truth, self.predicted, task)

    def summary(self) -> str:
        """Train, valid and test side by side with the train - test gap: over-fitting shows at a glance."""
        return summary(self.results, self.gap(), self.sampled)


def evaluate(model: Model, read_split: Callable[[str], pd.DataFrame], train_rows: int | None,
             seed: int, read_sample: Callable[[int, int], tuple[pd.DataFrame, int]] | None = None) -> Evaluation:
    """Score `model` on each split `read_split` gives; train on a seeded sample of `train_rows` above that many
    (None: every row). One split in memory at a time, and the test split's rows kept for the plots.
    `read_sample(rows, seed)`: the train sample and the split's size, read without the whole split."""
    task = model.task
    key = "labels" if task == "multilabel" else "label"
    results, sampled = {}, None
    for split in paths.SPLITS:
        if split == "train" and read_sample is not None and train_rows is not None:
            frame, total = read_sample(train_rows, seed)
            sampled = (train_rows, total) if total > train_rows else None
        else:
            frame = read_split(split)
        if split == "train" and train_rows is not None and len(frame) > train_rows:
            sampled = (train_rows, len(frame))
            frame = frame.sample(n=train_rows, random_state=seed)
        truth = [list(v) if task == "multilabel" else v for v in frame[key]]
        if split == "test":  # the plots need its scores too: one pass of the model gives both
            predicted, scores = model.predict_with_scores(frame)
            test = (frame, truth, predicted, scores)
        else:
            predicted = model.predict(frame)
        results[split] = classification_metrics(truth, predicted, task, model.labels, model.positive_label)
    return Evaluation(results, sampled, *test)


def log_to_live(live: Any, evaluation: Evaluation, model: Model, metric: str) -> None:
    """The headline metrics, and the plots of the test split: the one a reviewer judges the model on."""
    for split, values in headline(evaluation.results, metric).items():
        for name, value in values.items():
            live.log_metric(f"{split}/{name}", value, plot=False)
    truth, task = evaluation.truth, model.task
    live.log_sklearn_plot("confusion_matrix", *confusion_pairs(truth, evaluation.predicted, task),
                          name="confusion_matrix.json")
    y_curve, s_curve = curve_inputs(truth, evaluation.test_scores, task, model.labels, model.positive_label)
    live.log_sklearn_plot("roc", y_curve, s_curve, name="roc.json")
    live.log_sklearn_plot("precision_recall", y_curve, s_curve, name="precision_recall.json")
    per_class = [{"class": label, "f1": v["f1"]} for label, v in evaluation.results["test"]["per_class"].items()]
    live.log_plot("per_class_f1", per_class, x="f1", y="class", template="bar_horizontal")
    live.make_summary()


def summary(results: dict[str, dict], gap: dict[str, float], sampled: tuple[int, int] | None = None) -> str:
    """Train, valid and test side by side with the train - test gap: over-fitting shows at a glance."""
    names = [name for name in results["test"] if name != "per_class"]
    rows = [[split, *(f"{results[split][n]:.4f}" for n in names)] for split in paths.SPLITS]
    rows.append(["gap", *(f"{gap[n]:+.4f}" if n in gap else "-" for n in names)])
    lines = ["evaluate: scores per split (gap = train - test; a large gap is over-fitting)",
             *("  " + line for line in text_table(["", *names], rows).splitlines())]
    if sampled:
        lines.append(f"  train: a sample of {sampled[0]:,} of its {sampled[1]:,} rows (evaluate.train_rows)")
    return "\n".join(lines)
