"""evaluate's figures: the splits scored (train sampled above evaluate.train_rows), the gap, the headline,
the plots' inputs and the printed table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlkit.core.metric_names import GAP_METRICS, Metric, task_metrics
from mlkit.modeling.evaluation import confusion_pairs, curve_inputs, evaluate, gap, headline, summary

pytestmark = pytest.mark.fast


class Echo:
    """A model that predicts each row's `guess` column."""

    task, labels, positive_label = "binary", ["no", "yes"], "yes"

    def predict(self, frame: pd.DataFrame) -> list:
        return list(frame["guess"])

    def predict_with_scores(self, frame: pd.DataFrame) -> tuple[list, np.ndarray]:
        guess = self.predict(frame)
        return guess, np.array([[float(g == label) for label in self.labels] for g in guess])


def split(n: int, wrong: int) -> pd.DataFrame:
    labels = ["yes" if i % 2 else "no" for i in range(n)]
    guess = [("no" if v == "yes" else "yes") if i < wrong else v for i, v in enumerate(labels)]
    return pd.DataFrame({"id": range(n), "text": "t", "label": labels, "guess": guess})


def test_every_split_is_scored_and_train_is_sampled_above_train_rows() -> None:
    frames = {"train": split(100, 0), "valid": split(10, 1), "test": split(10, 5)}
    result = evaluate(Echo(), frames.__getitem__, train_rows=8, seed=1)  # type: ignore[arg-type]
    assert result.sampled == (8, 100) and result.scores()["train"]["sampled_rows"] == 8  # valid, test: every row
    assert list(result.results["test"]) == [*task_metrics("binary", "yes"), "per_class"]
    assert result.results["test"][Metric.ACCURACY] == 0.5 and result.results["valid"][Metric.ACCURACY] == 0.9
    assert result.gap()[Metric.ACCURACY] == pytest.approx(0.5)
    assert len(result.test) == 10 and result.predicted == list(frames["test"]["guess"])  # the plots' split
    assert evaluate(Echo(), frames.__getitem__, None, 1).sampled is None  # type: ignore[arg-type]
    assert list(result.predictions("binary").columns) == ["id", "text", "label", "prediction"]


def test_gap_headline_and_table() -> None:
    results = {s: {Metric.ACCURACY: a, Metric.F1_MACRO: a - 0.1, Metric.F1_WEIGHTED: a, Metric.F1_MICRO: a,
                   "per_class": {}} for s, a in (("train", 0.9), ("valid", 0.8), ("test", 0.7))}
    assert list(gap(results)) == [Metric.ACCURACY, Metric.F1_MACRO, Metric.F1_WEIGHTED]  # no f1_micro gap
    assert gap(results)[Metric.ACCURACY] == pytest.approx(0.2) and Metric.F1 in GAP_METRICS
    chosen = headline(results, Metric.F1_MACRO)  # compare.metric per split and the test accuracy
    assert {s: list(v) for s, v in chosen.items()} == {"train": ["f1_macro"], "valid": ["f1_macro"],
                                                       "test": ["f1_macro", "accuracy"]}
    assert chosen["test"] == {"f1_macro": results["test"][Metric.F1_MACRO], "accuracy": 0.7}
    lines = summary(results, gap(results), (10, 100)).splitlines()
    assert lines[1].split() == ["accuracy", "f1_macro", "f1_weighted", "f1_micro"]
    assert lines[3].split() == ["train", "0.9000", "0.8000", "0.9000", "0.9000"]
    assert lines[6].split() == ["gap", "+0.2000", "+0.2000", "+0.2000", "-"]
    assert lines[7] == "  train: a sample of 10 of its 100 rows (evaluate.train_rows)"


def test_confusion_pairs_and_curves() -> None:
    assert confusion_pairs([["a", "b"]], [[]], "multilabel") == (["a", "b"], ["(none)", "(none)"])
    assert confusion_pairs(["a"], ["b"], "multiclass") == (["a"], ["b"])
    scores = np.array([[0.2, 0.8], [0.9, 0.1]])
    y, s = curve_inputs(["yes", "no"], scores, "binary", ["no", "yes"], "yes")
    assert list(y) == [1, 0] and list(s) == [0.8, 0.1]
    y, s = curve_inputs(["yes", "no"], scores, "multiclass", ["no", "yes"], None)
    assert list(y) == [0, 1, 1, 0] and list(s) == [0.2, 0.8, 0.9, 0.1]
