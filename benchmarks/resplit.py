"""Is a setting's score a property of the split? Each gamma of the digits preset on three random splits.

    python -m benchmarks resplit [--gamma 0.0001,0.001,0.01,0.1] [--seeds 1,2,3]

In a temporary committed copy of the project on the `digits` preset, `mlkit resplit run` queues gamma x
split.seed (`mlkit sweep`, two workers) and reports per gamma the mean and sample standard deviation over
the seeds of train, valid and test accuracy, and whether the train-test gap flags over-fitting (> 0.1).
Writes docs/studies/results/resplit.{json,md,svg} (the table and accuracy against gamma), which
docs/studies/resplit.md includes.
"""

from __future__ import annotations

import argparse
import os

from mlkit.core.paths import SPLITS
from mlkit.testing.bench import commit, load, plot, project_copy, record, run, table
from mlkit.tools.experiments import resplit

THRESHOLD = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks resplit")
    parser.add_argument("--gamma", default="0.0001,0.001,0.01,0.1")
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    with project_copy() as project:
        run("mlkit preset digits", project)
        commit(project, "digits preset")  # queued runs start from a commit
        run(f"mlkit resplit run --gamma {args.gamma} --seeds {args.seeds} --threshold {THRESHOLD} -j 2", project)
        summary, _ = resplit.report(resplit.PREFIX, THRESHOLD, project / "resplit", root=project)
    headers = ["gamma", "runs", *(f"{s} acc" for s in SPLITS), "train-test acc", "over-fit"]
    rows = [[f"{r.gamma:g}", r.runs, *(resplit.spread(*r.stats[f"{s}.accuracy"]) for s in SPLITS), r.gap,
             f"**yes** (> {THRESHOLD:g})" if r.overfit else "no"] for r in summary]
    print(table(headers, rows))
    print(f"({load()})")
    numbers = {"seeds": args.seeds.split(","), "threshold": THRESHOLD,
               "gammas": [{"gamma": r.gamma, "runs": r.runs, "gap_accuracy": r.gap, "overfit": r.overfit,
                           **{k.replace(".", "_"): {"mean": m, "std": sd} for k, (m, sd) in r.stats.items()}}
                          for r in summary]}
    note = (f"`mlkit preset digits && mlkit resplit run --gamma {args.gamma} --seeds {args.seeds}`: mean ± "
            f"sample standard deviation over the split seeds; over-fit: train - test accuracy > {THRESHOLD:g}")
    print(f"written: {record('resplit', numbers, headers, rows, note=note)}")
    gammas = [r.gamma for r in summary]
    series = {s: (gammas, [r.stats[f"{s}.accuracy"][0] for r in summary],
                  [r.stats[f"{s}.accuracy"][1] or 0.0 for r in summary]) for s in SPLITS}
    figure = plot("resplit", series, x_label="model.gamma (log scale)", logx=True, ylim=(-0.02, 1.05),
                  y_label=f"accuracy (mean ± std over seeds {args.seeds})",
                  title="digits: accuracy against gamma on each split")
    print(f"written: {figure}")


if __name__ == "__main__":
    main()
