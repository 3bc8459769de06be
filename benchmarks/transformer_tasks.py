"""Fine-tuning figures: a preset's data with the `emotion_transformer` model section, through `dvc repro`.

    python -m benchmarks transformer_tasks emotion disaster_tweets --rows 1000 --epochs 1
    python -m benchmarks transformer_tasks disaster_tweets --epochs 2 --max-length 64

`--rows` limits the data (`data.limit`, a seeded sample; default: all rows). Prints, per preset, the test
metrics, the epochs run and the seconds per epoch (Trainer's runtime over epochs: training plus the
per-epoch evaluation on the valid split), each preset in a temporary copy of the project. The preset's
compare.metric comes with its 95% bootstrap interval (1,000 resamples of the test predictions), and so does
test accuracy. Writes docs/studies/results/transformer_tasks.{json,md}, which docs/studies/transformer.md
includes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import yaml

from mlkit.testing.bench import (
    ROOT,
    import_sources,
    load,
    project_copy,
    record,
    run_output,
    table,
    test_score,
    train_timings,
)


def transformer_params(preset: str, rows: int | None, **model: Any) -> dict[str, Any]:
    """A preset's params with the `emotion_transformer` model and features sections; `rows` limits the data,
    and each model key given (not None) replaces the section's value."""
    params = yaml.safe_load((ROOT / "presets" / f"{preset}.yaml").read_text())
    transformer = yaml.safe_load((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    params["model"] = transformer["model"]
    params["features"] = transformer["features"]  # a transformer reads no n-gram or embedding settings
    params["data"]["limit"] = rows
    params["model"].update({k: v for k, v in model.items() if v is not None})
    return params


HEADERS = ["data", "train/valid/test", "epochs", "s/epoch", "tokenize s", "test metric", "test value [95% interval]",
           "test accuracy [95% interval]", "repro s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+", help="whose data section to use, e.g. emotion, disaster_tweets")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    rows, numbers = [], []
    for preset in args.presets:
        row, result = run_preset(preset, args)
        rows.append(row)
        numbers.append(result)
        print(table(HEADERS, [row]), flush=True)
    options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "presets" and v)
    note = (f"`python -m benchmarks transformer_tasks {' '.join(args.presets)} {options}`: each preset's data "
            f"{f'(a seeded sample of {args.rows:,} rows) ' if args.rows else ''}with the `emotion_transformer` "
            "model section (all-MiniLM-L6-v2 fine-tuned, CPU only), through `dvc repro`; s/epoch is training "
            "plus the valid evaluation; the preset's compare.metric and accuracy on test with 95% bootstrap "
            "intervals (1,000 resamples)")
    print(f"written: {record('transformer_tasks', {'runs': numbers}, HEADERS, rows, note=note)}")


def run_preset(preset: str, args: argparse.Namespace) -> tuple[list[object], dict[str, Any]]:
    """One preset through `dvc repro` with the transformer model: its table row and its numbers."""
    params = transformer_params(preset, args.rows, epochs=args.epochs, batch_size=args.batch_size,
                                max_length=args.max_length, lr=args.lr)
    with project_copy() as project:
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        import_sources(project)
        seconds, log = run_output("dvc repro", project)
        timings = train_timings(log)
        epochs = json.loads((project / "metrics/train/metrics.json").read_text())["epochs"]
        split = json.loads((project / "metrics/split.json").read_text())
        metric = params["compare"]["metric"]
        # The task's own metric and accuracy (the emotion goal's), each with its interval.
        scores = [test_score(project, name) for name in (metric, "accuracy")]
    sizes = "/".join(str(split[s]["rows"]) for s in ("train", "valid", "test"))
    row: list[object] = [preset, sizes, f"{epochs:g}", f"{timings['train_seconds'] / epochs:.1f}",
                         f"{timings['tokenize_seconds']:.2f}", metric,
                         *(f"{v:.4f} [{lo:.4f}, {hi:.4f}]" for v, lo, hi in scores), f"{seconds:.0f}"]
    result = {"preset": preset, "rows": {s: split[s]["rows"] for s in ("train", "valid", "test")},
              "epochs": epochs, "train_seconds": timings["train_seconds"],
              "tokenize_seconds": timings["tokenize_seconds"], "repro_seconds": seconds, "model": params["model"],
              "metric": metric, **{name: {"value": v, "low": lo, "high": hi}
                                   for name, (v, lo, hi) in zip(("test_metric", "test_accuracy"), scores)}}
    return row, result


if __name__ == "__main__":
    main()
