"""The experiment queue in parallel: a 6-point sweep with -j 2 against -j 1, and against the stage scripts.

    python -m benchmarks queue_parallel            # default preset, model.C x features.min_df
    python -m benchmarks queue_parallel --quick    # digits, 2 points: checks that the script works (no result)

(a) mlkit sweep -S KEY=... -S KEY=... -j 2
(b) the same grid with -j 1
(c) per point: set the two params in params.yaml; python -m stages.train && python -m stages.evaluate
    && python -m stages.compare (what an experiment reruns), one point after another

Works in a temporary committed copy of the project whose baseline `dvc repro` is committed, so fetch, split
and augment come from the cache in every mode. DVC's run cache is emptied before each mode: otherwise the
second mode would restore the first one's results instead of training. DVC's overhead per experiment is
((b) - (c)) / points: queueing, the temporary folder each queued run gets, checkouts, exp_show.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import sys
from pathlib import Path

import yaml

from mlkit.testing import git
from mlkit.testing.bench import DIRECT, commit, load, load_figures, project_copy, record, run, set_params, table
from mlkit.tools.experiments.queue import stop_workers

GRIDS = {
    "default": {"model.C": ["0.25", "0.5", "1"], "features.min_df": ["1", "2"]},
    "digits": {"model.gamma": ["0.0005", "0.002"], "model.C": ["1"]},
}
def settle(project: Path) -> None:
    """Before a timed mode: no worker of the last one still idling, no run cache to restore from."""
    stop_workers(project)
    shutil.rmtree(project / ".dvc" / "cache" / "runs", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="digits preset, 2 points: a smoke test, not a figure")
    args = parser.parse_args()
    preset = "digits" if args.quick else "default"
    grid = GRIDS[preset]
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    set_args = [a for key, values in grid.items() for a in ("-S", f"{key}={','.join(values)}")]
    sweep = f"mlkit sweep {' '.join(repr(a) if '=' in a else a for a in set_args)}"

    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()})")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}, "
          f"python {platform.python_version()}; {load()}")
    with project_copy() as project:
        run(f"mlkit preset {preset}", project)
        run("dvc repro", project)
        commit(project, f"{preset}: baseline run")
        times: dict[str, float] = {}
        loads: dict[str, str] = {}
        for label, jobs in (("(a) queue -j 2", 2), ("(b) queue -j 1", 1)):
            settle(project)
            loads[label] = load_figures()
            times[label] = run(f"{sweep} -j {jobs} --name j{jobs}", project)
        settle(project)
        loads["(c) direct"] = load_figures()
        seconds = 0.0
        for point in points:
            set_params(project, {key: yaml.safe_load(text) for key, text in point.items()})
            seconds += run(DIRECT, project)
        times["(c) direct"] = seconds
        git("checkout", "-q", "--", "params.yaml", cwd=project)

    n = len(points)
    speedup = times["(b) queue -j 1"] / times["(a) queue -j 2"]
    overhead = (times["(b) queue -j 1"] - times["(c) direct"]) / n
    direct_ratio = times["(c) direct"] / times["(a) queue -j 2"]
    headers = ["mode", "wall s", "s per point", "load before (1, 5, 15 min)"]
    rows: list[list[object]] = [[label, f"{t:.1f}", f"{t / n:.1f}", loads[label]] for label, t in times.items()]
    rows += [["speed-up -j 2 over -j 1", f"{speedup:.2f}", "", ""],
             [f"DVC overhead per experiment ((b) - (c)) / {n}", f"{overhead:.2f}", "", ""],
             ["-j 2 against the scripts in sequence", f"{direct_ratio:.2f}x", "", ""]]
    print(f"\n{n} points: {', '.join(' '.join(f'{k}={v}' for k, v in p.items()) for p in points)} ({preset} preset)")
    print(f"(a)/(b): {sweep} -j 2 | -j 1\n(c) per point, in sequence: {DIRECT}\n")
    print(table(headers, rows))
    if args.quick:
        print("\n--quick: digits runs take a few seconds, so these figures are mostly fixed costs; not a measurement")
        return
    numbers = {"points": n, "preset": preset, "seconds": times, "speedup_j2_over_j1": speedup,
               "overhead_per_experiment_s": overhead, "j2_over_direct": direct_ratio}
    print(f"written: {record('queue_parallel', numbers, headers, rows)}")

if __name__ == "__main__":
    main()
