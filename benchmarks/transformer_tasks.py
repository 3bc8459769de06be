"""Fine-tuning figures: a preset's data with the `emotion_transformer` model section, through `dvc repro`.

    python -m benchmarks transformer_tasks emotion --rows 3000 --epochs 1
    python -m benchmarks transformer_tasks disaster_tweets --epochs 2 --max-length 64

`--rows` limits the data (`data.limit`, a seeded sample; default: all rows). Prints the test metrics,
the epochs run and the seconds per epoch (Trainer's runtime over epochs: training plus the per-epoch
evaluation on the valid split), in a temporary copy of the project. The preset's compare.metric comes with
its 95% bootstrap interval (1,000 resamples of the test predictions), and so does test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import yaml

from mlkit.testing.bench import ROOT, import_sources, project_copy, run_output, table, test_score, train_timings


def transformer_params(preset: str, rows: int | None, **model: Any) -> dict[str, Any]:
    """A preset's params with the `emotion_transformer` model section; `rows` limits the data, and each
    model key given (not None) replaces the section's value."""
    params = yaml.safe_load((ROOT / "presets" / f"{preset}.yaml").read_text())
    params["model"] = yaml.safe_load((ROOT / "presets" / "emotion_transformer.yaml").read_text())["model"]
    params["data"]["limit"] = rows
    params["model"].update({k: v for k, v in model.items() if v is not None})
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="whose data section to use, e.g. emotion, disaster_tweets, ru_emotion")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}")

    params = transformer_params(args.preset, args.rows, epochs=args.epochs, batch_size=args.batch_size,
                                max_length=args.max_length, lr=args.lr)
    with project_copy() as project:
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        import_sources(project)
        seconds, log = run_output("dvc repro", project)
        timings = train_timings(log)
        metrics = json.loads((project / "metrics/eval/metrics.json").read_text())
        epochs = json.loads((project / "metrics/train/metrics.json").read_text())["epochs"]
        split = json.loads((project / "metrics/split.json").read_text())
        metric = params["compare"]["metric"]
        # The task's own metric and accuracy (the emotion goal's), each with its interval.
        scores = {name: test_score(project, name) for name in dict.fromkeys([metric, "accuracy"])}

    test = metrics["test"]
    print(f"model: {json.dumps(params['model'])}")
    print(table(
        ["data", "train/valid/test", "epochs", "s/epoch", "tokenize s", "test f1_macro", "test f1",
         *(f"test {name} [95% interval]" for name in scores), "repro s"],
        [[args.preset, "/".join(str(split[s]["rows"]) for s in ("train", "valid", "test")), f"{epochs:g}",
          f"{timings['train_seconds'] / epochs:.1f}", f"{timings['tokenize_seconds']:.2f}", test.get("f1_macro"),
          test.get("f1"), *(f"{v:.4f} [{lo:.4f}, {hi:.4f}]" for v, lo, hi in scores.values()), f"{seconds:.0f}"]]))


if __name__ == "__main__":
    main()
