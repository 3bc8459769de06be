"""Going back to parameters already run: DVC's run-cache restores the stages against a fresh run.

    python -m benchmarks run_cache

On the default params (the embedded tweets, 10,000 rows, the default model), in a committed copy of the
project: `dvc repro` at the committed model.C (the baseline), then a new model.C (train, evaluate and
compare run), then the committed value again (every stage restored from the run-cache). Prints the wall
time of the last two `dvc repro` calls and their ratio, measured side by side in one run, and writes
them to docs/studies/results/run_cache.{json,md}, which docs/studies/run-cache.md includes.
"""

from __future__ import annotations

import yaml

from mlkit.testing.bench import load, project_copy, record, run, set_params, table


def main() -> None:
    with project_copy() as project:
        baseline = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["model"]["C"]
        run("dvc repro", project)
        new = 2.0 if baseline != 2.0 else 0.5
        set_params(project, {"model.C": new})
        fresh = run("dvc repro", project)
        set_params(project, {"model.C": baseline})
        restored = run("dvc repro", project)
    headers = ["dvc repro", "seconds"]
    rows = [[f"model.C={new:g} (new: train, evaluate, compare run)", fresh],
            [f"model.C={baseline:g} again (restored from the run-cache)", restored],
            ["restore against a fresh run", f"{fresh / restored:.1f}x faster"]]
    print(table(headers, rows))
    print(f"({load()})")
    print(f"written: {record('run_cache', {'fresh_s': fresh, 'restored_s': restored, 'ratio': fresh / restored}, headers, rows)}")


if __name__ == "__main__":
    main()
