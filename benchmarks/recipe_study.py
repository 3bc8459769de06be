"""The fine-tuning recipe, a few settings per task: one `dvc exp run -S ...` per setting, picked on valid.

    python -m benchmarks recipe_study emotion --rows 3000 --epochs 2
    python -m benchmarks recipe_study disaster_tweets --rows 3000 --epochs 2 --lr 2e-4

Each task runs in one temporary copy of the project: the preset's data with the `emotion_transformer`
model section (as benchmarks/transformer_tasks.py), `--rows` a seeded sample (`data.limit`), so fetch and
split run once and each setting reruns train, evaluate and compare. Every setting is seeded (`model.seed`);
the pick (*) is the best valid score of the task's metric, and test is only reported, with its 95%
bootstrap interval (1,000 resamples of the test predictions). On two CPU cores a sample and few epochs are
what fits; the ranking on a sample is a hint for the full data, not a verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from benchmarks.transformer_tasks import transformer_params
from mlkit.testing.bench import (
    commit,
    exp_run_from_commit,
    import_sources,
    load,
    project_copy,
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
    parser.add_argument("preset", help="whose data section to use: emotion or disaster_tweets (single-label)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=None, help="the base learning rate (default: the preset's)")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")

    params = transformer_params(args.preset, args.rows, epochs=args.epochs, lr=args.lr)
    settings = {**SETTINGS, "learning rate x2": [f"model.lr={2 * params['model']['lr']:g}"]}
    metric = params["compare"]["metric"]
    rows, valids = [], []
    with project_copy() as project:
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        import_sources(project)
        run("dvc repro split", project)
        commit(project, f"{args.preset}, transformer, {args.rows} rows")
        split = json.loads((project / "metrics/split.json").read_text())
        for name, overrides in settings.items():
            seconds, log = exp_run_from_commit(project, overrides)
            valid = json.loads((project / "metrics/eval/metrics.json").read_text())["valid"][metric]
            value, low, high = test_score(project, metric)
            epochs = json.loads((project / "metrics/train/metrics.json").read_text())["epochs"]
            rows.append([name, f"{valid:.4f}", f"{value:.4f}", f"[{low:.4f}, {high:.4f}]", f"{epochs:g}",
                         f"{train_timings(log)['train_seconds']:.0f}", f"{seconds:.0f}"])
            valids.append(valid)
            print(f"done: {name}", flush=True)

    best = valids.index(max(valids))
    sizes = "/".join(str(split[s]["rows"]) for s in ("train", "valid", "test"))
    print(f"\n{args.preset}: train/valid/test {sizes} rows, at most {args.epochs} epochs; "
          f"model: {json.dumps(params['model'])}\n")
    print(table(["setting", f"valid {metric}", f"test {metric}", "test 95% interval", "epochs", "train s",
                 "exp run s"], [[f"{r[0]} *" if i == best else r[0], *r[1:]] for i, r in enumerate(rows)]))


if __name__ == "__main__":
    main()
