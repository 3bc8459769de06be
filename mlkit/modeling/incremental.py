"""model.type sgd under data.streaming: the hashed TF-IDF features and an SGDClassifier fitted batch by batch
(partial_fit), in file order, so memory holds one batch whatever the rows; saved as any scikit-learn model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import FeatureUnion, Pipeline

from mlkit.core.batches import iter_frames, read_rows, row_count
from mlkit.core.params import SgdParams
from mlkit.modeling.sklearn_model import SklearnModel, inputs

Batches = Callable[[], Iterable[pd.DataFrame]]


def train_batches(path: Path | str) -> Batches:
    """The train file's text and label columns, batch by batch, each time it is called (one pass each)."""
    return lambda: iter_frames(path, ["text", "label"])


def _hashed_parts(pipeline: Pipeline) -> list[Pipeline]:
    features: FeatureUnion = pipeline.named_steps["features"]
    return [part for _, part in features.transformer_list]


def fit_streamed(model: SklearnModel, params: SgdParams, batches: Batches) -> dict[str, float]:
    """Two or more passes over `batches`: the first counts each hashed column's documents (the idf, as
    TfidfTransformer.fit computes it on the whole table) and the labels (class_weight balanced, as
    scikit-learn computes it); then `params.passes` passes of partial_fit. Deterministic: the file's order,
    a fixed seed, no shuffling."""
    parts = _hashed_parts(model.pipeline)
    documents = [np.zeros(part.named_steps["counts"].n_features, dtype=np.int64) for part in parts]
    labels: Counter = Counter()
    rows = 0
    first: list[str] | None = None
    for frame in batches():
        texts = inputs(frame)
        first = first or texts
        rows += len(texts)
        labels.update(frame["label"].astype(str).tolist())
        for part, counts in zip(parts, documents):
            hashed = part.named_steps["counts"].transform(texts).tocsr()
            counts += np.bincount(hashed.indices, minlength=len(counts))  # a row's columns are distinct
    if first is None:
        raise ValueError("no train rows")
    for part, counts in zip(parts, documents):
        part.fit(first)  # marks the pipeline fitted; the idf is the whole file's, set below
        tfidf = part.named_steps["tfidf"]
        tfidf.idf_ = np.log((1 + rows) / (1 + counts)) + 1.0  # TfidfTransformer's smooth_idf formula
    classifier = model.pipeline.named_steps["classifier"]
    if params.class_weight == "balanced":  # partial_fit refuses "balanced": n / (classes x count), as sklearn
        seen = [label for label in model.labels if labels[label]]
        classifier.set_params(class_weight={label: rows / (len(seen) * labels[label]) for label in seen})
    classes = np.array(model.labels, dtype=object)
    features = model.pipeline.named_steps["features"]
    for _ in range(params.passes):
        for frame in batches():
            classifier.partial_fit(features.transform(inputs(frame)), frame["label"].astype(str).to_numpy(),
                                   classes=classes)
    return {}


def sample_reader(path: Path | str) -> Callable[[int, int], tuple[pd.DataFrame, int]]:
    """evaluate's train sample without the whole split in memory: `rows` drawn with `seed`, the same draw as
    `frame.sample(n=rows, random_state=seed)`, read row group by row group; and the split's size."""
    def read(rows: int, seed: int) -> tuple[pd.DataFrame, int]:
        total = row_count(path)
        if total <= rows:
            return read_rows(path, np.arange(total)), total
        chosen = np.sort(np.random.RandomState(seed).choice(total, size=rows, replace=False))
        return read_rows(path, chosen), total
    return read
