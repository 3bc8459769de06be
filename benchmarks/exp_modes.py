"""Where DVC's cost per experiment goes: one digits experiment run four ways, side by side.

    python -m benchmarks exp_modes [--repeat 2]

(a) the stage scripts by hand (train, evaluate, compare), (b) `dvc exp run` in the workspace,
(c) `dvc exp run --temp` (a fresh repository under .dvc/tmp/exps, as queued runs get), and
(d) `dvc exp run --queue` + `dvc exp run --run-all -j 1` (the same plus starting a queue worker and
waiting for it to end). (c) - (a) is the per-experiment cost; (d) - (c) is the queue's fixed cost,
paid once per queue run, however many experiments it holds. Writes docs/studies/results/exp_modes.{json,md},
which docs/studies/queue.md includes.
"""

from __future__ import annotations

import argparse
import os
import sys

from mlkit.testing.bench import DIRECT, commit, project_copy, record, run, set_params

RESET = "git checkout params.yaml dvc.lock && dvc checkout -q -f"


def main(repeat: int) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    times: dict[str, list[float]] = {m: [] for m in ("(a) direct", "(b) exp run", "(c) exp run --temp",
                                                      "(d) queue + run-all")}
    with project_copy() as project:
        run("mlkit preset digits", project)
        commit(project, "digits")
        run("dvc repro", project)
        commit(project, "reproduced")
        for i in range(repeat):
            gamma = 0.002 + i / 1000  # a new value each time: nothing comes from the run cache
            set_params(project, {"model.gamma": gamma})
            times["(a) direct"].append(run(DIRECT, project))
            run(RESET, project)
            times["(b) exp run"].append(run(f"dvc exp run -S model.gamma={gamma}1", project))
            run(RESET, project)
            times["(c) exp run --temp"].append(run(f"dvc exp run --temp -S model.gamma={gamma}2", project))
            times["(d) queue + run-all"].append(run(
                f"dvc exp run --queue -S model.gamma={gamma}3 && dvc exp run --run-all -j 1", project))
    # Other work on the machine only adds time, so each mode's fastest run is its estimate (as timeit takes)
    fastest = {mode: min(values) for mode, values in times.items()}
    direct = fastest["(a) direct"]
    per_workspace = fastest["(b) exp run"] - direct
    per_temp = fastest["(c) exp run --temp"] - direct
    queue_fixed = fastest["(d) queue + run-all"] - fastest["(c) exp run --temp"]
    rows: list[list[object]] = [[mode, f"{fastest[mode]:.1f}", " ".join(f"{v:.1f}" for v in times[mode])]
                                for mode in times]
    more = [("What each mode adds", ["cost", "s"],
             [["per experiment, in the workspace: (b) - (a)", f"{per_workspace:.2f}"],
              ["per experiment, in a fresh repository: (c) - (a)", f"{per_temp:.2f}"],
              ["per queue run, worker start and idle end: (d) - (c)", f"{queue_fixed:.2f}"]])]
    numbers = {"repeat": repeat, "seconds": times, "fastest_s": fastest, "per_experiment_workspace_s": per_workspace,
               "per_experiment_temp_s": per_temp, "queue_fixed_s": queue_fixed}
    note = f"One digits experiment (a new `model.gamma` each run), the fastest of {repeat} runs per mode:"
    print(f"written: {record('exp_modes', numbers, ['mode', 'fastest s', 'runs'], rows, note=note, more=more)}")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    main(parser.parse_args(sys.argv[1:]).repeat)
