"""The summary metrics' names, spelled once: params (compare.metric), evaluate's files, compare and the
transformer's early stopping all use these members, so a renamed metric cannot leave a reader behind."""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    """A summary metric; a member is its name as a str (a JSON key, an f-string, `valid.f1_macro`)."""

    ACCURACY = "accuracy"        # subset accuracy for multilabel
    F1 = "f1"                    # the positive class's F1 (binary with data.positive_label)
    F1_MACRO = "f1_macro"
    F1_WEIGHTED = "f1_weighted"
    F1_MICRO = "f1_micro"        # multilabel


# The train - test gap's metrics, in scores.json's order (f1_micro: multilabel's, counted by no gap).
GAP_METRICS = (Metric.ACCURACY, Metric.F1_MACRO, Metric.F1_WEIGHTED, Metric.F1)


def task_metrics(task: str, positive: str | None = None) -> list[Metric]:
    """The summary metrics a task has: f1 (the positive class) for binary, f1_micro for multilabel."""
    extra = [Metric.F1_MICRO] if task == "multilabel" else [Metric.F1] if task == "binary" and positive is not None \
        else []
    return [Metric.ACCURACY, Metric.F1_MACRO, Metric.F1_WEIGHTED, *extra]


def metric_problem(metric: str, task: str, positive: str | None) -> str | None:
    """Why `compare.metric` does not apply to this task, or None when it does."""
    allowed = task_metrics(task, positive)
    why = (f"does not apply to a {task} task" if metric != Metric.F1 or task != "binary" else "is the F1 of data."
           "positive_label, which this binary task does not set (its labels are not 0/1, -1/1, false/true or "
           "no/yes); name it in data.positive_label, or pick another metric")
    return None if metric in allowed else f"compare.metric: {str(metric)!r} {why}; allowed: {', '.join(allowed)}"
