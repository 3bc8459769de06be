"""The sweep's results table and the search's metric rule, on rows shaped as `dvc.api.exp_show` gives them."""

from __future__ import annotations

import pytest

from mlkit.core.errors import PipelineError
from mlkit.tools.experiments.results import best, metric_columns, sweep_table
from mlkit.tools.experiments.search_space import check_metric

pytestmark = pytest.mark.fast

ROWS = [  # two files share `accuracy`-style names only with their split prefix; a loss where lower is better
    {"Experiment": "cg-2", "model.C": 2.0, "valid.accuracy": 0.91, "valid.loss": 0.30, "test.accuracy": 0.90},
    {"Experiment": "cg-1", "model.C": 0.5, "valid.accuracy": 0.88, "valid.loss": 0.25, "test.accuracy": 0.93},
    {"Experiment": "cg-3", "model.C": 1.0, "valid.accuracy": None, "valid.loss": None, "test.accuracy": None},
]


def test_best_maximises_by_default_and_minimises_when_asked() -> None:
    assert best(ROWS, "valid.accuracy")["Experiment"] == "cg-2"
    assert best(ROWS, "valid.loss", minimize=True)["Experiment"] == "cg-1"  # --minimize
    with pytest.raises(PipelineError, match="--best valid.f1: no experiment has this metric"):
        best(ROWS, "valid.f1")


def test_metrics_option_picks_the_columns_and_best_is_always_shown() -> None:
    assert metric_columns(ROWS, ["valid.loss"], "valid.accuracy") == ["valid.loss", "valid.accuracy"]  # --metrics
    assert metric_columns(ROWS, None, None) == ["valid.accuracy", "test.accuracy"]  # defaults present in the rows


def test_markdown_table_is_sorted_by_the_swept_keys_and_marks_the_best() -> None:
    table = sweep_table(ROWS, ["model.C"], ["valid.accuracy"], best_name="cg-2", markdown=True)  # --md
    assert table.splitlines() == [
        "| experiment   |   model.C |   valid.accuracy |",
        "|:-------------|----------:|-----------------:|",
        "| cg-1         |       0.5 |           0.8800 |",
        "| cg-3         |         1 |                - |",
        "| cg-2 *       |         2 |           0.9100 |",
    ]
    plain = sweep_table(ROWS, ["model.C"], ["valid.accuracy"]).splitlines()
    assert plain[0].split() == ["experiment", "model.C", "valid.accuracy"] and "|" not in plain[0]


@pytest.mark.parametrize("metric", ["test.accuracy", "gap.f1_macro"])
def test_search_never_optimises_on_the_test_split(metric: str) -> None:
    with pytest.raises(PipelineError, match=rf"--metric {metric}: the test split is never optimised on"):
        check_metric(metric)
    check_metric("valid.f1_macro")  # what it should be
