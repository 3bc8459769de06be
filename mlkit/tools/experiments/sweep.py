"""A parameter sweep through DVC's experiment queue, checked before anything is queued.

    mlkit sweep -S 'model.C=0.25,0.5,1' -S 'features.min_df=1,2' -j 2 --best valid.f1_macro

`-S` takes the grids `dvc exp run --queue -S` takes (comma lists, range(start,stop,step), lists in
brackets). Every point is validated against the params schema first; then the grid is queued with
`dvc exp run --queue`, run by `dvc queue start -j N`, and followed until each experiment succeeded or
failed. Failed experiments are named with the end of their `dvc queue logs` (exit 1); otherwise a table
of the experiments (the swept params and key metrics, from dvc.api.exp_show) is printed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlkit.core.devices import use_gpus
from mlkit.core.errors import PipelineError
from mlkit.tools.experiments import queue as ex
from mlkit.tools.experiments import results


@dataclass(frozen=True)
class SweepOptions:
    """`mlkit sweep`: the -S grids and how to run and show them (the command line builds it: mlkit/cli)."""

    set_params: list[str] = field(default_factory=list)
    jobs: int = 2
    name: str | None = None
    best: str | None = None
    minimize: bool = False
    metrics: str | None = None
    md: bool = False
    gpus: str | None = None
    timeout: float | None = None


def sweep(options: SweepOptions) -> None:
    if options.jobs < 1:
        raise PipelineError(f"-j: at least 1 worker (got {options.jobs})")
    if options.gpus is not None:
        use_gpus(options.gpus, options.jobs, "-j")
    if options.best:
        results.check_metric_key(options.best)
    metrics = [m.strip() for m in options.metrics.split(",") if m.strip()] if options.metrics else None
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = ex.sweep(options.set_params, jobs=options.jobs, prefix=options.name, root=Path("."),
                      timeout=options.timeout, report=progress)
    columns = results.metric_columns(result.rows, metrics, options.best)
    winner = results.best(result.rows, options.best, options.minimize) if options.best and result.rows else None
    if result.rows:
        print(results.sweep_table(result.rows, result.grid.keys, columns,
                             winner["Experiment"] if winner else None, options.md))
    if winner and options.best:
        shown = ", ".join(f"{k}={results.param_cell(results.value(winner, k))}" for k in result.grid.keys)
        score = results.cell(results.number(results.value(winner, options.best)))
        print(f"\nbest by {options.best}: {winner['Experiment']} ({score}; "
              f"{shown}); `dvc exp apply {winner['Experiment']}` brings it into the workspace")
    ex.raise_failures(result)

