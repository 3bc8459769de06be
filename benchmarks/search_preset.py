"""A search against the preset: Optuna's TPE over the emotion preset's C, min_df and class weight.

    python -m benchmarks search_preset [--trials 20] [--preset emotion]

In a temporary committed copy of the project on the preset (reproduced: the baseline), one worker runs
`mlkit search --trials N --parallel 2` over `model.C` (log 0.01 to 10), `features.min_df` (1 to 5) and
`model.class_weight` (null or balanced), maximising valid macro F1. Prints the baseline, the best trial,
the best of the first half, and the worst, each with valid and test macro F1 (test is shown, never searched
on), and writes docs/studies/results/search_preset.{json,md}, which docs/studies/search.md includes.
"""

from __future__ import annotations

import argparse
import json
import os

import yaml

from mlkit.testing.bench import commit, load, project_copy, record, run, table
from mlkit.tools.experiments import results

METRIC = "f1_macro"
SPACE = ["model.C=log:0.01:10", "features.min_df=int:1:5", "model.class_weight=choice:null,balanced"]
KEYS = ["model.C", "features.min_df", "model.class_weight"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks search_preset")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--preset", default="emotion")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    with project_copy() as project:
        run(f"mlkit preset {args.preset}", project)
        run("dvc repro", project)
        commit(project, "preset, reproduced")  # the trials start from this commit
        metrics = json.loads((project / "metrics/eval/metrics.json").read_text())
        committed = yaml.safe_load((project / "params.yaml").read_text())
        params = {k: committed[k.split(".")[0]].get(k.split(".")[1]) for k in KEYS}
        space = " ".join(f"--space '{s}'" for s in SPACE)
        run(f"mlkit search --study {args.preset} --trials {args.trials} --parallel 2 --metric valid.{METRIC} "
            f"--direction maximize {space}", project)
        trials = [r for r in results.exp_rows(project) if str(r["Experiment"]).startswith(f"{args.preset}-t")]
    score = lambda row, split: results.number(results.value(row, f"{split}.{METRIC}"))  # noqa: E731
    trials.sort(key=lambda r: str(r["Experiment"]))
    ranked = sorted(trials, key=lambda r: score(r, "valid") or -1.0, reverse=True)
    first_half = sorted(trials[: len(trials) // 2], key=lambda r: score(r, "valid") or -1.0, reverse=True)
    shown = [("preset (baseline)", metrics["valid"][METRIC], metrics["test"][METRIC], params)]
    for label, row in (("best", ranked[0]), ("second", ranked[1]), ("best of the first half", first_half[0]),
                       ("worst", ranked[-1])):
        shown.append((f"{row['Experiment']} ({label})", score(row, "valid"), score(row, "test"),
                      {k: results.param_cell(results.value(row, k)) for k in KEYS}))
    headers = ["experiment", f"valid {METRIC}", f"test {METRIC}", *KEYS]
    rows = [[name, valid, test, *(p[k] for k in KEYS)] for name, valid, test, p in shown]
    print(table(headers, rows))
    print(f"({load()})")
    numbers = {"preset": args.preset, "trials": len(trials), "metric": f"valid.{METRIC}", "space": SPACE,
               "baseline": {"valid": metrics["valid"][METRIC], "test": metrics["test"][METRIC]},
               "trials_scores": {str(r["Experiment"]): {"valid": score(r, "valid"), "test": score(r, "test"),
                                                        **{k: results.param_cell(results.value(r, k)) for k in KEYS}}
                                 for r in trials}}
    note = (f"`mlkit search --study {args.preset} --trials {args.trials} --parallel 2 --metric valid.{METRIC} "
            f"--direction maximize {' '.join(f'--space {s}' for s in SPACE)}` on the `{args.preset}` preset")
    print(f"written: {record('search_preset', numbers, headers, rows, note=note)}")


if __name__ == "__main__":
    main()
