"""Sentence-embedding features (features.embedding): the offline MiniLM encoder, frozen, mean-pooled, and the
multilingual USE; their embeddings memoised per (encoder, max_length, texts), and a scikit-learn head that
saves without weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlkit.core.errors import PipelineError
from mlkit.core.params import DEFAULT_CHECKPOINT, FeatureParams, model_params
from mlkit.modeling import embeddings
from mlkit.modeling.base import load_model
from mlkit.modeling.embeddings import CACHE_ENV, MULTILINGUAL_USE, SentenceEmbedder
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline
from mlkit.testing import dataset

TEXTS = ["i feel wonderful today", "this is so sad", "a", "what a terrible awful day it was, honestly",
         "i am scared of the dark", "nothing", "such a surprise!", "love it"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "embeddings"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_each_text_gets_its_own_normalised_embedding_and_the_result_is_memoised(cache: Path) -> None:
    embedder = SentenceEmbedder(DEFAULT_CHECKPOINT, max_length=32)
    whole = embedder.fit(TEXTS).transform(TEXTS)
    assert whole.shape == (len(TEXTS), 384) and whole.dtype == np.float32
    assert np.allclose(np.linalg.norm(whole, axis=1), 1, atol=1e-5)
    # Batched and sorted by length inside: each row is still its own text's embedding.
    alone = np.vstack([embedder.transform([t]) for t in TEXTS[:3]])
    assert np.allclose(alone, whole[:3], atol=1e-5)
    assert 0.2 < float(whole[0] @ whole[7]) < float(whole[0] @ whole[0])  # related texts, not the same

    # The memo is what a second call reads: nothing is encoded again (here it returns what was planted).
    [memo] = [p for p in cache.iterdir() if np.load(p).shape[0] == len(TEXTS)]
    np.save(memo, np.zeros_like(whole))
    assert not embedder.transform(TEXTS).any()
    # Another max_length, or other texts, is another key.
    assert SentenceEmbedder(DEFAULT_CHECKPOINT, max_length=16).transform(TEXTS).any()
    assert embedder.transform(TEXTS[::-1]).any()


def test_an_unknown_encoder_is_one_error(cache: Path) -> None:
    with pytest.raises(PipelineError, match=r"^features.embedding: no folder ./no-such-encoder$"):
        SentenceEmbedder("./no-such-encoder").transform(TEXTS)
    assert not cache.exists()


def test_a_head_on_embeddings_learns_saves_without_weights_and_reloads(cache: Path, tmp_path: Path) -> None:
    lines = dataset("emotion/train.txt").read_text().splitlines()[:700]
    frame = pd.DataFrame([line.rsplit(";", 1) for line in lines], columns=["text", "label"])
    train, test = frame.iloc[:500], frame.iloc[500:]
    labels = sorted(frame["label"].unique())
    features = FeatureParams(word_ngrams=None, embedding=DEFAULT_CHECKPOINT, embedding_max_length=64)
    model = SklearnModel(build_pipeline(features, model_params(type="logreg", C=10), "multiclass", True),
                         "multiclass", labels)
    model.fit(train)
    predicted = model.predict(test)
    accuracy = float(np.mean(np.asarray(predicted) == test["label"].to_numpy()))
    assert accuracy > test["label"].value_counts(normalize=True).max() + 0.1

    folder = tmp_path / "model"
    folder.mkdir()
    model.save(folder, {})
    assert (folder / "model.skops").stat().st_size < 100_000  # the head only: the encoder is loaded by name
    again = load_model(folder)  # through the skops allowlist, which names SentenceEmbedder
    assert again.predict(test) == predicted
    # Fitted again (the embeddings now from the memo), it saves the same bytes: a rerun is no new model to DVC.
    twin = SklearnModel(build_pipeline(features, model_params(type="logreg", C=10), "multiclass", True),
                        "multiclass", labels)
    twin.fit(train)
    (tmp_path / "twin").mkdir()
    twin.save(tmp_path / "twin", {})
    assert (tmp_path / "twin/model.skops").read_bytes() == (folder / "model.skops").read_bytes()


RUSSIAN = ["я так рада тебя видеть", "мне очень страшно одной в темноте", "какой ужасный и грустный день",
           "я счастлива, что ты пришла", "ничего"]


def test_the_multilingual_use_embeds_russian_in_batches_and_is_memoised(cache: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "USE_BATCH", 2)  # three batches for five texts: each row stays its own text's
    embedder = SentenceEmbedder(MULTILINGUAL_USE)
    whole = embedder.transform(RUSSIAN)
    assert whole.shape == (len(RUSSIAN), 512) and whole.dtype == np.float32
    assert np.allclose(np.linalg.norm(whole, axis=1), 1, atol=1e-5)
    alone = np.vstack([SentenceEmbedder(MULTILINGUAL_USE).transform([t]) for t in RUSSIAN])
    assert np.allclose(alone, whole, atol=1e-5)
    # Meaning, across wording: "glad to see you" is nearer "happy you came" than "scared alone in the dark".
    assert whole[0] @ whole[3] > whole[0] @ whole[1]
    # The memo's key names the package and its version: another release is another key.
    [memo] = [p for p in cache.iterdir() if np.load(p).shape[0] == len(RUSSIAN)]
    np.save(memo, np.zeros_like(whole))
    assert not embedder.transform(RUSSIAN).any()
    monkeypatch.setattr(embeddings, "USE_PACKAGE", "numpy")  # stands in for a newer release of the encoder
    assert embedder.transform(RUSSIAN).any()
