"""A sweep's grid: DVC's `-S` syntax expanded into experiments, and every point validated before queueing.

The grid syntax is DVC's own (`-S 'model.C=0.5,1,2'`, `range(...)`, lists in brackets): it is expanded
and applied with the same code `dvc exp run --queue` uses (dvc.utils.hydra), so what is validated here
is what the queued experiments will hold.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.params import PARAMS_FILE, Params, read_yaml, unread_why, validate


@dataclass
class Grid:
    """`-S` arguments and the experiments they expand to (each a list of overrides for params.yaml)."""

    set_params: list[str]
    points: list[list[str]]
    keys: list[str]  # the parameters named, in order, without hydra's +/~ prefixes
    is_sweep: bool  # DVC names a sweep's experiments PREFIX-1..N, a single run just PREFIX

    def __len__(self) -> int:
        return len(self.points)


def override_key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def expand(set_params: Sequence[str]) -> Grid:
    """Expand DVC `-S` arguments (params.yaml only) into the experiments `dvc exp run --queue` makes."""
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps, to_hydra_overrides
    from hydra.errors import HydraException

    if not set_params:
        raise PipelineError("nothing to sweep: give at least one -S KEY=VALUES")
    by_path = to_path_overrides(set_params)
    others = sorted(set(by_path) - {str(PARAMS_FILE)})
    if others:
        raise PipelineError(f"-S: only params.yaml holds this project's parameters (got {', '.join(others)})")
    overrides = by_path[str(PARAMS_FILE)]
    try:
        parsed = to_hydra_overrides(overrides)
        sweeps = get_hydra_sweeps(by_path)
    except (HydraException, ValueError) as exc:
        raise PipelineError(f"-S {' -S '.join(overrides)}: {first_line(exc, cause=True)}") from None
    keys = list(dict.fromkeys(override_key(o) for o in overrides))
    return Grid(list(set_params), [s[str(PARAMS_FILE)] for s in sweeps], keys,
                any(o.is_sweep_override() for o in parsed))


def apply_overrides(params: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """params.yaml with `overrides` applied exactly as DVC applies them; the file itself is not touched."""
    from dvc.utils.hydra import apply_overrides as dvc_apply

    with tempfile.TemporaryDirectory(prefix="mlkit-sweep-") as tmp:
        copy = Path(tmp) / "params.yaml"
        shutil.copyfile(params, copy)
        dvc_apply(copy, list(overrides))
        return read_yaml(copy)


def validate_grid(grid: Grid, params: Path = PARAMS_FILE) -> None:
    """Every point of the grid through the params schema; the first bad one stops with one message."""
    read_yaml(params)  # a missing or broken params.yaml is named as such
    checked: set[tuple[str, ...]] = set()
    points: list[Params] = []
    for point in grid.points:
        _check_each(point, params, checked)
        shown = " ".join(f"-S {o}" for o in point)
        try:
            raw = apply_overrides(params, point)
        except Exception as exc:  # noqa: BLE001 - DVC's InvalidArgumentError; each override was fine alone
            raise PipelineError(f"{params} with {shown}: {first_line(exc, cause=True)}") from None
        points.append(validate(raw, f"{params} with {shown}"))
    for key in grid.keys:
        check_read(key, points, f"-S {key}")


def check_read(key: str, points: Sequence[Params], where: str) -> None:
    """Refuse a swept key that no point's model reads: its values would all give the same model, and the
    "best" of them would be a pick among ties."""
    reasons = [unread_why(key, p) for p in points]
    if reasons and all(reasons):
        raise PipelineError(f"{where}: every value gives the same model: {reasons[0]}; drop it, or sweep "
                            "model.type (or model.kernel) with it")


def _check_each(point: Sequence[str], params: Path, checked: set[tuple[str, ...]]) -> None:
    """Apply each override alone first, so an error names the one that is wrong."""
    from dvc.exceptions import InvalidArgumentError

    for override in point:
        if (override,) in checked:
            continue
        checked.add((override,))
        try:
            raw = apply_overrides(params, [override])
        except InvalidArgumentError as exc:
            raise PipelineError(_explain(override, params, exc)) from None
        validate(raw, f"{params} with -S {override}")


def _explain(override: str, params: Path, exc: Exception) -> str:
    """Why DVC refuses an override: mostly a key params.yaml lacks. Is it one the schema knows?"""
    from dvc.exceptions import InvalidArgumentError

    key = override_key(override)
    if not override.startswith(("+", "~")) and "Could not override" in str(exc.__cause__):
        try:
            raw = apply_overrides(params, ["+" + override])
        except InvalidArgumentError:
            pass
        else:
            try:
                validate(raw, f"{params} with -S {override}")
            except PipelineError as unknown:
                return str(unknown)
            return (f"{params} with -S {override}: {key}: not in {params}; DVC adds a key only when asked "
                    f"(-S +{override})")
    return f"{params} with -S {override}: {first_line(exc, cause=True)}"
