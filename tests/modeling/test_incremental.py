"""model.type sgd fitted batch by batch (data.streaming): the whole file's idf and balanced class weights, the
same model file bytes on every run, and predictions close to a fit on the table in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfTransformer

from mlkit.core.params import FeatureParams, model_params
from mlkit.modeling.incremental import fit_streamed
from mlkit.modeling.sklearn_model import MODEL_FILE, SklearnModel, build_pipeline

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)

LABELS = ["alert", "calm", "urgent"]
FEATURES = FeatureParams(hashing=2**14, min_df=1)
SGD = model_params(type="sgd")


def table(rows: int, seed: int) -> pd.DataFrame:
    """Texts whose label shows in one word of three in every text; 60/30/10 class shares."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(LABELS, size=rows, p=[0.6, 0.3, 0.1])
    common = [f"w{i}" for i in range(300)]
    texts = [" ".join([*rng.choice(common, size=8), *(f"{label}{k}" for k in rng.integers(0, 20, size=4))])
             for label in labels]
    return pd.DataFrame({"text": texts, "label": labels})


def model() -> SklearnModel:
    return SklearnModel(build_pipeline(FEATURES, SGD, "multiclass", True), "multiclass", LABELS)


def batches(frame: pd.DataFrame, size: int = 700):
    return lambda: (frame.iloc[start:start + size] for start in range(0, len(frame), size))


def test_streamed_features_and_weights_are_the_whole_tables() -> None:
    train = table(3000, seed=0)
    fitted = model()
    fit_streamed(fitted, SGD, batches(train))
    part = fitted.pipeline.named_steps["features"].transformer_list[0][1]
    counts = part.named_steps["counts"].transform(train["text"].tolist())
    whole = TfidfTransformer(sublinear_tf=True).fit(counts)
    np.testing.assert_allclose(part.named_steps["tfidf"].idf_, whole.idf_)
    shares = train["label"].value_counts()
    weights = fitted.pipeline.named_steps["classifier"].class_weight
    assert weights == pytest.approx({label: len(train) / (3 * shares[label]) for label in LABELS})


def test_streamed_model_file_is_byte_stable_and_close_to_a_fit_in_memory(tmp_path) -> None:
    train, test = table(4000, seed=1), table(1000, seed=2)
    files = []
    for _ in range(2):
        fitted = model()
        fit_streamed(fitted, SGD, batches(train))
        fitted.save_files(tmp_path)
        files.append((tmp_path / MODEL_FILE).read_bytes())
    assert files[0] == files[1]
    in_memory = model()
    in_memory.fit(train)
    agree = np.mean(np.array(fitted.predict(test)) == np.array(in_memory.predict(test)))
    accuracy = np.mean(np.array(fitted.predict(test)) == test["label"].to_numpy())
    assert agree > 0.95 and accuracy > 0.9
