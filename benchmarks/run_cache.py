"""Going back to parameters already run: DVC's run-cache restores the stages against a fresh run.

    python -m benchmarks run_cache

On the default params (the embedded tweets, 10,000 rows, the default model), in a committed copy of the
project: `dvc repro` at model.C=0.5 (the baseline), then model.C=2 (a new value: train, evaluate
and compare run), then model.C=0.5 again (every stage restored from the run-cache). Prints the wall time of
the last two `dvc repro` calls and their ratio, measured side by side in one run, and writes them to
docs/studies/results/run_cache.{json,md}, which docs/studies/run-cache.md includes.
"""

from __future__ import annotations

from mlkit.testing.bench import load, project_copy, record, run, set_params, table


def main() -> None:
    with project_copy() as project:
        run("dvc repro", project)
        set_params(project, {"model.C": 2.0})
        fresh = run("dvc repro", project)
        set_params(project, {"model.C": 0.5})
        restored = run("dvc repro", project)
    headers = ["dvc repro", "seconds"]
    rows = [["model.C=2 (new: train, evaluate, compare run)", fresh],
            ["model.C=0.5 again (restored from the run-cache)", restored],
            ["ratio: restore is this many times faster", round(fresh / restored, 1)]]
    print(table(headers, rows))
    print(f"({load()})")
    print(f"written: {record('run_cache', {'fresh_s': fresh, 'restored_s': restored}, headers, rows)}")


if __name__ == "__main__":
    main()
