"""The disaster_tweets preset's C against character n-grams: `mlkit sweep`, the best by valid F1 of `disaster`.

    python -m benchmarks disaster_sweep                       # model.C 0.05,0.1,0.2,0.4 x char 2-5-grams or none
    python -m benchmarks disaster_sweep --C 0.1,0.4 -j 1      # a smaller grid

In a temporary committed copy of the project on the `disaster_tweets` preset, reproduced and committed (so the
queued experiments restore fetch and split from the cache): `mlkit sweep -S model.C=... -S
features.char_ngrams=[2,5],null --best valid.f1`. Per experiment: train, valid and test accuracy, valid and
test F1 of `disaster`, and the train-test accuracy gap; then the best experiment applied and its test F1 with
its 95% bootstrap interval (1,000 resamples of the test predictions), the yardstick for the differences.
Writes docs/studies/results/disaster_sweep.{json,md}, which docs/studies/disaster-sweep.md includes.
"""

from __future__ import annotations

import argparse
import os

from mlkit.testing.bench import commit, load, project_copy, record, run, table, test_score
from mlkit.tools.experiments import results

PREFIX = "dt"
PARAMS = ("model.C", "features.char_ngrams")
METRICS = ("train.accuracy", "valid.accuracy", "test.accuracy", "valid.f1", "test.f1", "gap.accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks disaster_sweep")
    parser.add_argument("--C", default="0.05,0.1,0.2,0.4", help="model.C values (comma list)")
    parser.add_argument("--char-ngrams", default="[2,5],null", help="features.char_ngrams values")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="queue workers")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    grid = f"-S 'model.C={args.C}' -S 'features.char_ngrams={args.char_ngrams}'"
    with project_copy() as project:
        run("mlkit preset disaster_tweets", project)
        repro_s = run("dvc repro", project)
        commit(project, "disaster_tweets preset, reproduced")  # queued runs start from a commit
        sweep_s = run(f"mlkit sweep {grid} -j {args.jobs} --name {PREFIX} --best valid.f1", project)
        found = results.exp_rows(project)
        found = [r for r in found if str(r.get("Experiment", "")).startswith(f"{PREFIX}-")]
        best = results.best(found, "valid.f1")
        run(f"dvc exp apply {best['Experiment']}", project)
        value, low, high = test_score(project, "f1")
    ordered = sorted(found, key=lambda r: results.sort_key(r, PARAMS))
    headers = ["experiment", *PARAMS, *METRICS]
    rows = [[r["Experiment"] + (" *" if r is best else ""), *(results.param_cell(results.value(r, k)) for k in PARAMS),
             *(results.number(results.value(r, m)) for m in METRICS)] for r in ordered]
    print(table(headers, rows))
    print(f"({load()})")
    picked = [[best["Experiment"], *(results.param_cell(results.value(best, k)) for k in PARAMS),
               f"{value:.4f} [{low:.4f}, {high:.4f}]", f"{high - low:.4f}"]]
    numbers = {"grid": {"model.C": args.C, "features.char_ngrams": args.char_ngrams}, "repro_s": repro_s,
               "sweep_s": sweep_s, "jobs": args.jobs, "best": best["Experiment"], "best_test_f1": value,
               "best_test_f1_interval": [low, high],
               "experiments": [dict(zip(headers, row)) for row in rows]}
    note = (f"`mlkit preset disaster_tweets && dvc repro`, committed; then `mlkit sweep {grid} -j {args.jobs} "
            f"--name {PREFIX} --best valid.f1`; `*`: the best by valid F1 of `disaster`")
    more = [("The best experiment applied: its test F1 of `disaster` with its 95% bootstrap interval (1,000 "
             "resamples of the test texts) and the interval's width",
             ["experiment", *PARAMS, "test F1 [95% interval]", "interval width"], picked)]
    print(f"written: {record('disaster_sweep', numbers, headers, rows, note=note, more=more)}")


if __name__ == "__main__":
    main()
