"""The fine-tuning recipe, a few settings per task: one `dvc exp run -S ...` per setting, picked on valid.

    python -m benchmarks recipe_study disaster_tweets --rows 1000 --epochs 1 --lr 2e-4
    python -m benchmarks recipe_study emotion disaster_tweets --rows 3000 --epochs 2

Each task runs in one temporary copy of the project: the preset's data with the `emotion_transformer`
model section (as benchmarks/transformer_tasks.py), `--rows` a seeded sample (`data.limit`), so fetch and
split run once and each setting reruns train, evaluate and compare. Every setting is seeded (`model.seed`);
the pick (*) is the best valid score of the task's metric, and test is only reported, with its 95%
bootstrap interval (1,000 resamples of the test predictions). On two CPU cores a sample and few epochs are
what fits; the ranking on a sample is a hint for the full data, not a verdict. Writes
docs/studies/results/recipe_study.{json,md} (a table per task), which docs/studies/recipe.md includes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import yaml

from benchmarks.transformer_tasks import transformer_params
from mlkit.testing.bench import (
    commit,
    exp_run_from_commit,
    import_sources,
    load,
    project_copy,
    record,
    run,
    table,
    test_score,
    train_timings,
)

# What a team tunes beyond the learning rate (docs/tutorials/fine-tuning.md), one change at a time.
SETTINGS = {
    "base recipe": [],
    "cosine schedule": ["model.scheduler=cosine"],
    "label smoothing 0.1": ["model.label_smoothing=0.1"],
    "2 lowest layers frozen": ["model.freeze_layers=2"],
    "head dropout 0.3": ["model.head_dropout=0.3"],
    "max_length auto": ["model.max_length=auto"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+", help="whose data section to use: emotion, disaster_tweets (single-label)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=None, help="the base learning rate (default: the preset's)")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    tables, numbers = [], {}
    for preset in args.presets:
        note, headers, rows, numbers[preset] = study(preset, args)
        tables.append((note, headers, rows))
    (note, headers, rows), *more = tables
    lr = f" --lr {args.lr:g}" if args.lr else ""
    note = (f"`python -m benchmarks recipe_study {' '.join(args.presets)} --rows {args.rows} --epochs {args.epochs}"
            f"{lr}`: one seeded `dvc exp run -S` per setting; * marks the best valid score, test only reported "
            f"with its 95% bootstrap interval (1,000 resamples)\n\n{note}")
    print(f"written: {record('recipe_study', numbers, headers, rows, note=note, more=more)}")


def study(preset: str, args: argparse.Namespace) -> tuple[str, list[str], list[list[object]], dict[str, Any]]:
    """Every setting on one preset's data: (the table's note, headers, rows, the numbers)."""
    params = transformer_params(preset, args.rows, epochs=args.epochs, lr=args.lr)
    settings = {**SETTINGS, "learning rate x2": [f"model.lr={2 * params['model']['lr']:g}"]}
    metric = params["compare"]["metric"]
    rows: list[list[object]] = []
    valids: list[float] = []
    runs: list[dict[str, Any]] = []
    with project_copy() as project:
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        import_sources(project)
        run("dvc repro split", project)
        commit(project, f"{preset}, transformer, {args.rows} rows")
        split = json.loads((project / "metrics/split.json").read_text())
        for name, overrides in settings.items():
            seconds, log = exp_run_from_commit(project, overrides)
            valid = json.loads((project / "metrics/eval/metrics.json").read_text())["valid"][metric]
            value, low, high = test_score(project, metric)
            epochs = json.loads((project / "metrics/train/metrics.json").read_text())["epochs"]
            train_s = train_timings(log)["train_seconds"]
            rows.append([name, f"{valid:.4f}", f"{value:.4f}", f"[{low:.4f}, {high:.4f}]", f"{epochs:g}",
                         f"{train_s:.0f}", f"{seconds:.0f}"])
            runs.append({"setting": name, "overrides": overrides, "valid": valid, "test": value, "low": low,
                         "high": high, "epochs": epochs, "train_seconds": train_s, "exp_run_seconds": seconds})
            valids.append(valid)
            print(f"done: {preset} {name}", flush=True)

    best = valids.index(max(valids))
    sizes = "/".join(str(split[s]["rows"]) for s in ("train", "valid", "test"))
    headers = ["setting", f"valid {metric}", f"test {metric}", "test 95% interval", "epochs", "train s", "exp run s"]
    rows = [[f"{r[0]} *" if i == best else r[0], *r[1:]] for i, r in enumerate(rows)]
    note = (f"**{preset}**: train/valid/test {sizes} rows, at most {args.epochs} epoch(s), learning rate "
            f"{params['model']['lr']:g}")
    print(f"\n{note}; model: {json.dumps(params['model'])}\n")
    print(table(headers, rows))
    result = {"rows": {s: split[s]["rows"] for s in ("train", "valid", "test")}, "metric": metric,
              "model": params["model"], "picked": runs[best]["setting"], "runs": runs}
    return note, headers, rows, result


if __name__ == "__main__":
    main()
