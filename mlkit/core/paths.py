"""Every file the pipeline reads or writes, named once. dvc.yaml declares the same paths."""

from __future__ import annotations

PARAMS = "params.yaml"
PIPELINE = "dvc.yaml"
PRESETS = "presets"
SOURCES = "data/sources"              # the user's own files (a DVC-tracked folder)

RAW = "data/raw.parquet"              # fetch
DATA_CARD = "metrics/data_card.json"
SPLIT_DIR = "data/split"              # split
SPLIT_STATS = "metrics/split.json"
SPLITS = ("train", "valid", "test")
AUGMENTED_TRAIN = "data/augmented/train.parquet"  # augment
AUGMENT_CARD = "metrics/augment.json"
MODEL = "models/model"                # train
TRAIN_METRICS = "metrics/train"
EVAL = "metrics/eval"                 # evaluate
EVAL_METRICS = "metrics/eval/metrics.json"   # headline: compare.metric per split, test accuracy (DVC's metric)
SCORES = "metrics/eval/scores.json"          # every averaging per split and the gap: a plain out
PER_CLASS = "metrics/eval/per_class.json"    # per-class precision/recall/F1/support: a plain out, not a metric
PREDICTIONS = "metrics/eval/predictions.csv"
COMPARE_JSON = "metrics/compare.json"  # compare
COMPARE_MD = "metrics/compare.md"


def split(name: str) -> str:
    """data/split/NAME.parquet, for NAME in SPLITS."""
    return f"{SPLIT_DIR}/{name}.parquet"
