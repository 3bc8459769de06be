"""The search space of `mlkit search`: `--space KEY=KIND:...` parsed, checked against params.yaml and the
schema, and turned into Optuna distributions and `-S` overrides."""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.params import validate
from mlkit.tools.experiments.grid import check_read

KINDS = ("float", "log", "int", "choice")
MODEL_CHOOSERS = ("model.type", "model.kernel")  # the keys that decide which other keys a model reads
KEY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


@dataclass(frozen=True)
class Dimension:
    """One `--space KEY=KIND:ARGS`: float:LOW:HIGH, log:LOW:HIGH, int:LOW:HIGH or choice:A,B,..."""

    key: str
    spec: str
    distribution: BaseDistribution

    def corners(self) -> list[Any]:
        """The values checked against the params schema: both ends of a range, or every choice."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return list(d.choices)
        assert isinstance(d, (FloatDistribution, IntDistribution))  # the only other kinds parse_dimension makes
        return [d.low, d.high]


def _number(text: str, kind: str, where: str) -> float | int:
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        raise PipelineError(f"{where}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}") from None


def parse_dimension(text: str) -> Dimension:
    where = f"--space {text}"
    key, sep, spec = text.partition("=")
    kind, _, args = spec.partition(":")
    if not sep or kind not in KINDS or not args:
        raise PipelineError(f"{where}: expected KEY=KIND:ARGS with KIND one of {', '.join(KINDS)} "
                            "(float:LOW:HIGH, log:LOW:HIGH, int:LOW:HIGH, choice:A,B,...)")
    if not KEY.match(key):
        raise PipelineError(f"{where}: {key!r} is not a dotted params key such as model.C")
    if kind == "choice":
        choices = [yaml.safe_load(v) if v.strip() else "" for v in args.split(",")]
        if any(not (v is None or isinstance(v, (bool, int, float, str))) for v in choices):
            raise PipelineError(f"{where}: choices must be plain values (text, numbers, true/false, null)")
        if len(set(map(repr, choices))) != len(choices):
            raise PipelineError(f"{where}: a choice is listed twice")
        return Dimension(key, spec, CategoricalDistribution(choices))
    parts = args.split(":")
    if len(parts) != 2:
        raise PipelineError(f"{where}: {kind} takes LOW:HIGH")
    low, high = (_number(p, kind, where) for p in parts)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise PipelineError(f"{where}: LOW must be below HIGH (got {low} and {high})")
    if kind == "log" and low <= 0:
        raise PipelineError(f"{where}: a log range needs LOW > 0 (got {low})")
    if kind == "int":
        return Dimension(key, spec, IntDistribution(int(low), int(high)))
    return Dimension(key, spec, FloatDistribution(float(low), float(high), log=kind == "log"))


def _set(params: dict, key: str, value: Any) -> None:
    *sections, leaf = key.split(".")
    node = params
    for part in sections:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PipelineError(f"--space {key}: {part} is not a section of params.yaml")
    node[leaf] = value


def check_space(dimensions: list[Dimension], base: dict) -> None:
    """Every key known to the schema and every end of every range valid, before anything is queued."""
    keys = [d.key for d in dimensions]
    if len(set(keys)) != len(keys):
        raise PipelineError(f"--space: a key is given twice ({', '.join(k for k in keys if keys.count(k) > 1)})")
    for dimension in dimensions:
        for value in dimension.corners():
            params = copy.deepcopy(base)
            _set(params, dimension.key, value)
            validate(params, f"--space {dimension.key}={dimension.spec}")
    # the models the search can reach: every choice of the dimensions that pick the model
    choosers = [d for d in dimensions if d.key in MODEL_CHOOSERS]
    models = []
    for values in itertools.product(*(d.corners() for d in choosers)):
        params = copy.deepcopy(base)
        for dimension, value in zip(choosers, values):
            _set(params, dimension.key, value)
        models.append(validate(params, "--space"))
    for dimension in dimensions:
        check_read(dimension.key, models, f"--space {dimension.key}={dimension.spec}")


def value_text(value: Any) -> str:
    """A value as `-S` writes it, which DVC parses back to exactly this value (YAML: null, true)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)  # round-trips exactly: the experiment gets the value Optuna recorded
    if isinstance(value, int):
        return str(value)
    return value if re.fullmatch(r"[\w.+-]+", value) else "'" + value.replace("'", "\\'") + "'"


def override(key: str, value: Any, base: dict) -> str:
    """`-S key=value` text that DVC parses back to exactly this value."""
    prefix = "" if _has_key(base, key) else "+"  # `+`: a key params.yaml leaves to the defaults
    return f"{prefix}{key}={value_text(value)}"


def _has_key(base: dict, key: str) -> bool:
    *sections, leaf = key.split(".")
    node: Any = base
    for part in sections:
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, dict) and leaf in node


def resolve_metric(metric: str | None, params: dict[str, Any]) -> str:
    """--metric, by default valid.METRIC for the params' compare.metric: evaluate's headline metrics hold that
    one per split (and test.accuracy), so no other is there to optimise."""
    chosen = validate(params).compare.metric
    if metric is None:
        return f"valid.{chosen}"
    if metric.partition(".")[2] != chosen:
        raise PipelineError(f"--metric {metric}: the experiments' metrics hold compare.metric ({chosen}) per split; "
                            f"use valid.{chosen}, or set compare.metric in params.yaml")
    return metric


def check_metric(metric: str) -> None:
    split = metric.split(".", 1)[0]
    if split in ("test", "gap"):
        raise PipelineError(f"--metric {metric}: the test split is never optimised on (gap uses it too); "
                            "use a valid.* metric such as valid.f1_macro")
    if not KEY.match(metric) or split not in ("valid", "train"):
        raise PipelineError(f"--metric {metric}: expected a key of {paths.EVAL_METRICS} such as valid.f1_macro")
