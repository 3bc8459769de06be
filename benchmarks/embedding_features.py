"""TF-IDF, sentence embeddings and both, under each preset's own scikit-learn head, on its own splits.

    python -m benchmarks embedding_features [PRESET ...] [--limit ROWS]
        (default: emotion disaster_tweets ru_emotion; --limit 3000)

For each preset: its data read and split as the pipeline does (fetch's cleaning, split's seed), then the
preset's model fitted three ways: on its TF-IDF features (as the preset is, less any embedding it has), on
a frozen encoder's embeddings alone (`features.embedding`, n-grams null), and on both side by side. The
encoder is MiniLM for English presets and universal-sentence-encoder-multilingual for the others
(`augment.language`). Prints the preset's test metric (compare.metric) with its 95% bootstrap interval
(1,000 resamples of the test rows),
the fit and predict seconds, and for the `embedding` variant (the first to encode: train and test, cold)
its whole time per 1,000 texts encoded, an upper bound on the encoder's cost. `--limit` keeps a seeded
sample of that many rows of each preset's data (`data.limit`; 0: all of it), as encoding on CPU takes
seconds per 1,000 texts. Writes docs/studies/results/embedding_features.{json,md}, which
docs/studies/embedding-features.md includes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlkit.core.params import DEFAULT_CHECKPOINT, Params, validate
from mlkit.core.table import has_text
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.data.split import split_frame
from mlkit.modeling.embeddings import MULTILINGUAL_USE
from mlkit.modeling.metrics import score, targets
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline
from mlkit.testing.bench import ROOT, SHARED, load, record, table


def interval(truth: np.ndarray, predicted: np.ndarray, metric: str, labels: list[str], positive: str | None,
             resamples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    value = score(metric, truth, predicted, labels, positive)
    counts = rng.multinomial(len(truth), np.full(len(truth), 1 / len(truth)), size=resamples)
    values = [score(metric, truth, predicted, labels, positive, weight=c) for c in counts]
    low, high = np.quantile(values, [0.025, 0.975])
    return value, float(low), float(high)


def read_preset(name: str) -> dict[str, Any]:
    """presets/NAME.yaml, its imported sources read from ../shared directly."""
    raw = yaml.safe_load((ROOT / "presets" / f"{name}.yaml").read_text())
    for source in raw["data"]["sources"]:
        origin = source.pop("import_url", None)
        if origin:
            source["path"] = str(SHARED / origin.removeprefix("../shared/"))
    return raw


def split_preset(raw: dict[str, Any], limit: int = 0) -> tuple[Params, dict[str, pd.DataFrame], dict[str, Any], Any]:
    """(params, the splits, the data card, the test split's targets), as fetch and split make them; `limit`:
    a seeded sample of that many rows (`data.limit`; 0: the preset's own)."""
    params = validate({**raw, "data": {**raw["data"], "limit": limit}} if limit else raw)
    frame, card = build_dataset([read_source(s) for s in params.data.sources], params.data)
    parts = split_frame(frame, params.split)
    key = "labels" if card["task"] == "multilabel" else "label"
    return params, parts, card, targets(list(parts["test"][key]), card["task"], card["labels"])


def fit_and_test(features: Any, model_params: Any, parts: dict[str, pd.DataFrame], card: dict[str, Any],
                 truth: Any, metric: str) -> tuple[SklearnModel, float, float, float, float, float]:
    """The preset's scikit-learn pipeline with these features and model, fitted on train and scored on test:
    (model, fit s, fit+predict s, test metric, its 95% interval's low and high)."""
    task, labels, positive = card["task"], card["labels"], card["positive_label"]
    model = SklearnModel(build_pipeline(features, model_params, task, has_text(parts["train"])), task, labels,
                         positive)
    started = time.perf_counter()
    model.fit(parts["train"])
    fitted = time.perf_counter() - started
    predicted = targets(model.predict(parts["test"]), task, labels)
    total = time.perf_counter() - started
    return model, fitted, total, *interval(truth, predicted, metric, labels, positive)


HEADERS = ["preset", "metric", "features", "encoder", "head", "value", "95% interval", "fit s", "fit+predict s",
           "encode s / 1k texts"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks embedding_features")
    parser.add_argument("presets", nargs="*", default=["emotion", "disaster_tweets", "ru_emotion"])
    parser.add_argument("--limit", type=int, default=3000, help="rows of each preset's data (0: all of them)")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    os.environ["MLKIT_EMBEDDING_CACHE"] = tempfile.mkdtemp(prefix="mlkit-emb-")  # every encoding timed cold
    rows = []
    numbers: list[dict[str, Any]] = []
    for name in args.presets:
        raw = read_preset(name)
        params, parts, card, truth = split_preset(raw, args.limit)
        metric = params.compare.metric
        texts = sum(len(p) for p in parts.values())
        encoder = DEFAULT_CHECKPOINT if params.augment.language == "en" else MULTILINGUAL_USE
        variants = {
            "TF-IDF": params.features.model_copy(update={"embedding": None}),
            "embedding": params.features.model_copy(update={"word_ngrams": None, "char_ngrams": None,
                                                            "embedding": encoder}),
            "TF-IDF + embedding": params.features.model_copy(update={"embedding": encoder}),
        }
        for variant, features in variants.items():
            _, fitted, total, value, low, high = fit_and_test(features, params.model, parts, card, truth, metric)
            if variant == "embedding":  # the first to encode: train, then test (valid is not needed here)
                encoded = len(parts["train"]) + len(parts["test"])
                per_thousand = f"{total / encoded * 1000:.1f}"
            else:
                per_thousand = "-"
            rows.append((name, f"test {metric}", variant, encoder.split("/")[-1] if features.embedding else "-",
                         f"{params.model.type} C={getattr(params.model, 'C', None)}", f"{value:.4f}",
                         f"[{low:.4f}, {high:.4f}]", f"{fitted:.1f}", f"{total:.1f}", per_thousand))
            numbers.append({"preset": name, "train_rows": len(parts["train"]), "test_rows": len(parts["test"]),
                            "metric": metric, "features": variant, "encoder": features.embedding,
                            "head": params.model.type, "C": getattr(params.model, "C", None), "value": value,
                            "low": low, "high": high, "fit_s": fitted, "fit_predict_s": total,
                            "encode_s_per_1k": None if per_thousand == "-" else float(per_thousand)})
        print(f"{name}: {texts:,} texts, {len(parts['train']):,} train", file=sys.stderr, flush=True)
    print(table(HEADERS, rows))
    print(load())
    sample = f"a seeded sample of {args.limit:,} rows of each preset's data" if args.limit else "each preset's data"
    note = (f"`python -m benchmarks embedding_features --limit {args.limit} {' '.join(args.presets)}`: {sample}, "
            "cleaned and split as the pipeline does; the preset's head fitted on train and scored on test with "
            "its compare.metric and 95% bootstrap interval (1,000 resamples); encoding timed cold")
    result = record("embedding_features", {"limit": args.limit, "runs": numbers}, HEADERS, rows, note=note)
    print(f"written: {result}")


if __name__ == "__main__":
    main()
