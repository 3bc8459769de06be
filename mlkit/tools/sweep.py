"""A parameter sweep through DVC's experiment queue, checked before anything is queued.

    mlkit sweep -S 'model.C=0.25,0.5,1' -S 'features.min_df=1,2' -j 2 --best valid.f1_macro

`-S` takes the grids `dvc exp run --queue -S` takes (comma lists, range(start,stop,step), lists in
brackets). Every point is validated against the params schema first; then the grid is queued with
`dvc exp run --queue`, run by `dvc queue start -j N`, and followed until each experiment succeeded or
failed. Failed experiments are named with the end of their `dvc queue logs` (exit 1); otherwise a table
of the experiments (the swept params and key metrics, from dvc.api.exp_show) is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlkit.core.devices import use_gpus
from mlkit.core.errors import PipelineError, run_main
from mlkit.tools import queue as ex
from mlkit.tools import results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlkit sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-S", "--set-param", dest="set_params", action="append", default=[], metavar="KEY=VALUES",
                   help="a parameter and its values, as for `dvc exp run -S` (repeatable: the grid is the product)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="queue workers running in parallel (default 2)")
    p.add_argument("-n", "--name", default=None, metavar="PREFIX",
                   help="name the experiments PREFIX-1..N (DVC's sweep naming); default: DVC's random names")
    p.add_argument("--best", metavar="METRIC", help="name the best experiment by this metric, e.g. valid.f1_macro")
    p.add_argument("--minimize", action="store_true", help="with --best: lower is better")
    p.add_argument("--metrics", metavar="KEY,KEY", help="metric columns (default: accuracy and F1 of each split)")
    p.add_argument("--md", action="store_true", help="print the table as Markdown")
    p.add_argument("--gpus", metavar="0,1,...", help="GPUs the parallel experiments share, one each (a "
                   "transformer experiment waits for a free one); sets MLKIT_GPUS for the queue's workers")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="stop waiting after this long (the experiments go on in the queue)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.jobs < 1:
        raise PipelineError(f"-j: at least 1 worker (got {args.jobs})")
    if args.gpus is not None:
        use_gpus(args.gpus, args.jobs, "-j")
    if args.best:
        results.check_metric_key(args.best)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = ex.sweep(args.set_params, jobs=args.jobs, prefix=args.name, root=Path("."),
                      timeout=args.timeout, report=progress)
    columns = results.metric_columns(result.rows, metrics, args.best)
    winner = results.best(result.rows, args.best, args.minimize) if args.best and result.rows else None
    if result.rows:
        print(results.sweep_table(result.rows, result.grid.keys, columns,
                             winner["Experiment"] if winner else None, args.md))
    if winner:
        shown = ", ".join(f"{k}={results.param_cell(results.value(winner, k))}" for k in result.grid.keys)
        score = results.cell(results.number(results.value(winner, args.best)))
        print(f"\nbest by {args.best}: {winner['Experiment']} ({score}; "
              f"{shown}); `dvc exp apply {winner['Experiment']}` brings it into the workspace")
    ex.raise_failures(result)


if __name__ == "__main__":
    run_main(main)
