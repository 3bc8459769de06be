"""Experiments' results as `dvc exp show` holds them (through `dvc.api.exp_show`), and the tables of them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from mlkit.core.errors import PipelineError
from mlkit.core.metric_names import Metric
from mlkit.core.text_table import text_table

METRIC_SPLITS = ("train", "valid", "test")
# The headline metrics evaluate writes (compare.metric per split, test accuracy), in the order shown.
DEFAULT_METRICS = tuple(f"{split}.{name}" for name in (Metric.F1, Metric.F1_MACRO, Metric.F1_WEIGHTED,
                                                       Metric.F1_MICRO, Metric.ACCURACY)
                        for split in METRIC_SPLITS)


def exp_rows(root: Path, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Successful experiments of HEAD from dvc.api.exp_show; only `names` when given."""
    from mlkit.tools.experiments.dvc_experiments import experiment_rows

    wanted = None if names is None else set(names)
    rows = []
    for row in experiment_rows(root):
        if row.get("typ") == "baseline" or not row.get("Experiment") or row.get("State") == "Failed":
            continue
        if wanted is None or row["Experiment"] in wanted:
            rows.append(row)
    return rows


def value(row: dict[str, Any], key: str) -> Any:
    """A column of an exp_show row; exp_show prefixes a name with its file only where two files share it."""
    if key in row:
        return row[key]
    for column, v in row.items():
        if column.endswith(":" + key):
            return v
    return None


def number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def check_metric_key(key: str) -> None:
    if key.split(".", 1)[0] not in METRIC_SPLITS or "." not in key:
        raise PipelineError(f"--best {key}: a key of metrics/eval/metrics.json: valid.METRIC for params.yaml's "
                            "compare.metric, e.g. valid.f1_macro")


def best(rows: Sequence[dict[str, Any]], metric: str, minimize: bool = False) -> dict[str, Any]:
    scored = [r for r in rows if number(value(r, metric)) is not None]
    if not scored:
        raise PipelineError(f"--best {metric}: no experiment has this metric (the headline metrics are params.yaml's "
                            "compare.metric on each split, and test.accuracy)")
    pick = min if minimize else max
    return pick(scored, key=lambda r: cast(float, number(value(r, metric))))  # never None: filtered above


def sort_key(row: dict[str, Any], keys: Sequence[str]) -> tuple:
    parts = []
    for key in keys:
        v = value(row, key)
        n = number(v)
        parts.append((0, n, "") if n is not None else (1, 0.0, str(v)))
    return (*parts, str(row.get("Experiment")))


def metric_columns(rows: Sequence[dict[str, Any]], wanted: Sequence[str] | None, extra: str | None) -> list[str]:
    columns = list(wanted or [m for m in DEFAULT_METRICS if any(value(r, m) is not None for r in rows)])
    if extra and extra not in columns:
        columns.append(extra)
    return columns


def cell(v: Any) -> str:
    """A metric: 4 decimals; anything else (a param) as written."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def param_cell(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool = False) -> str:
    return text_table(headers, [[cell(v) for v in row] for row in rows], markdown=markdown)


def sweep_table(rows: Sequence[dict[str, Any]], keys: Sequence[str], metrics: Sequence[str],
                best_name: str | None = None, markdown: bool = False) -> str:
    ordered = sorted(rows, key=lambda r: sort_key(r, keys))
    body = [[r["Experiment"] + (" *" if r["Experiment"] == best_name else ""),
             *(param_cell(value(r, k)) for k in keys), *(number(value(r, m)) for m in metrics)] for r in ordered]
    return format_table(["experiment", *keys, *metrics], body, markdown)
