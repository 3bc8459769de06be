"""The disaster_tweets preset's C against character n-grams: `mlkit sweep`, the best by valid F1 of `disaster`.

    python -m benchmarks disaster_sweep                       # model.C 0.05,0.1,0.2,0.4 x char 2-5-grams or none
    python -m benchmarks disaster_sweep --C 0.1,0.4 -j 1      # a smaller grid

In a temporary committed copy of the project on the `disaster_tweets` preset, reproduced and committed (so the
queued experiments restore fetch and split from the cache): `mlkit sweep -S model.C=... -S
features.char_ngrams=[2,5],null --best valid.f1`. Each experiment applied in turn (`dvc exp apply`): its train,
valid and test accuracy and train-test accuracy gap (metrics/eval/scores.json), valid F1 of `disaster`, and
test F1 with its 95% bootstrap interval (1,000 resamples of the test predictions), the yardstick for the
differences.
Writes docs/studies/results/disaster_sweep.{json,md}, which docs/studies/disaster-sweep.md includes.
"""

from __future__ import annotations

import argparse
import json
import os

from mlkit.testing.bench import commit, load, project_copy, record, run, table, test_score
from mlkit.tools.experiments import results

PREFIX = "dt"
PARAMS = ("model.C", "features.char_ngrams")
SCORES = (("train", "accuracy"), ("valid", "accuracy"), ("test", "accuracy"), ("gap", "accuracy"), ("valid", "f1"))


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
        found = [r for r in results.exp_rows(project) if str(r.get("Experiment", "")).startswith(f"{PREFIX}-")]
        best = results.best(found, "valid.f1")
        measured = {}
        for row in found:  # scores.json and the predictions are outputs, not metrics: each experiment applied
            run(f"dvc exp apply {row['Experiment']}", project)
            scores = json.loads((project / "metrics/eval/scores.json").read_text(encoding="utf-8"))
            measured[row["Experiment"]] = ([scores[split][name] for split, name in SCORES],
                                           test_score(project, "f1"))
    ordered = sorted(found, key=lambda r: results.sort_key(r, PARAMS))
    headers = ["experiment", *PARAMS, *(f"{split}.{name}" for split, name in SCORES), "test.f1 [95% interval]"]
    rows = []
    for r in ordered:
        figures, (value, low, high) = measured[r["Experiment"]]
        rows.append([r["Experiment"] + (" *" if r is best else ""),
                     *(results.param_cell(results.value(r, k)) for k in PARAMS), *figures,
                     f"{value:.4f} [{low:.4f}, {high:.4f}]"])
    print(table(headers, rows))
    print(f"({load()})")
    numbers = {"grid": {"model.C": args.C, "features.char_ngrams": args.char_ngrams}, "repro_s": repro_s,
               "sweep_s": sweep_s, "jobs": args.jobs, "best": best["Experiment"],
               "experiments": {name: {"params": {k: results.value(r, k) for k in PARAMS},
                                      **{f"{split}.{metric}": v for (split, metric), v in zip(SCORES, figures)},
                                      "test.f1": value, "test.f1_interval": [low, high]}
                               for r in found for name in [r["Experiment"]]
                               for figures, (value, low, high) in [measured[name]]}}
    note = (f"`mlkit preset disaster_tweets && dvc repro`, committed; then `mlkit sweep {grid} -j {args.jobs} "
            f"--name {PREFIX} --best valid.f1`; `*`: the best by valid F1 of `disaster`; f1: F1 of `disaster`, "
            "test with its 95% bootstrap interval")
    print(f"written: {record('disaster_sweep', numbers, headers, rows, note=note)}")

if __name__ == "__main__":
    main()
