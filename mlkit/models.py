"""Model builders and the one interface every backend offers: fit, predict, scores, save, load."""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from joblib import parallel_config
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC, LinearSVC

from mlkit.errors import PipelineError
from mlkit.params import FeatureParams, ModelParams
from mlkit.transformer import TransformerModel  # imports torch and transformers only when used

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
# Types a saved pipeline may hold beyond skops' defaults; anything else in a file refuses to load.
TRUSTED_TYPES = ["scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix"]


def build_estimator(params: ModelParams) -> ClassifierMixin:
    if params.type == "svc":
        return SVC(C=params.C, gamma=params.gamma, kernel=params.kernel, class_weight=params.class_weight,
                   random_state=params.seed)
    if params.type == "linear_svc":
        return LinearSVC(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter,
                         random_state=params.seed)
    if params.type == "logreg":
        return LogisticRegression(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter,
                                  random_state=params.seed)
    return RandomForestClassifier(n_estimators=params.n_estimators, class_weight=params.class_weight,
                                  random_state=params.seed, n_jobs=-1)


def build_features(params: FeatureParams) -> FeatureUnion:
    parts = []
    common = dict(min_df=params.min_df, max_features=params.max_features, sublinear_tf=params.sublinear_tf,
                  lowercase=params.lowercase)
    if params.word_ngrams:
        parts.append(("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(params.word_ngrams), **common)))
    if params.char_ngrams:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params.char_ngrams), **common)))
    return FeatureUnion(parts)


def build_pipeline(features: FeatureParams, model: ModelParams, task: str, text: bool) -> Pipeline:
    estimator = build_estimator(model)
    if task == "multilabel":
        estimator = OneVsRestClassifier(estimator, n_jobs=-1)
    steps = [("features", build_features(features))] if text else []
    # Digits keep their raw pixel values: the classic C/gamma study is defined on them.
    return Pipeline(steps + [("classifier", estimator)])


def inputs(frame: pd.DataFrame) -> Any:
    if "text" in frame.columns:
        return frame["text"].astype(str).tolist()
    return np.vstack(frame["features"].to_numpy())


class SklearnModel:
    """A scikit-learn Pipeline plus what evaluate and predict need to know: the task and labels."""

    backend = "sklearn"

    def __init__(self, pipeline: Pipeline, task: str, labels: list[str], positive_label: str | None = None):
        self.pipeline = pipeline
        self.task = task
        self.labels = list(labels)
        self.positive_label = positive_label

    def _targets(self, frame: pd.DataFrame) -> Any:
        if self.task == "multilabel":
            index = {label: i for i, label in enumerate(self.labels)}
            matrix = np.zeros((len(frame), len(self.labels)), dtype=int)
            for row, labels in enumerate(frame["labels"]):
                for label in labels:
                    matrix[row, index[label]] = 1
            return matrix
        return frame["label"].astype(str).to_numpy()

    def fit(self, train: pd.DataFrame, valid: pd.DataFrame | None = None) -> SklearnModel:
        """`valid` is taken for the common interface; scikit-learn models are tuned by experiments instead."""
        # No memory-mapping for worker processes: SVC sorts sparse indices in place, which fails on
        # joblib's read-only memmaps when one-vs-rest fits labels in parallel.
        with parallel_config(max_nbytes=None):
            self.pipeline.fit(inputs(train), self._targets(train))
        return self

    def predict(self, frame: pd.DataFrame) -> list:
        predicted = self.pipeline.predict(inputs(frame))
        if self.task == "multilabel":
            return [[self.labels[j] for j in np.flatnonzero(row)] for row in np.asarray(predicted)]
        return [str(p) for p in predicted]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Confidence per label, shape (rows, labels), columns in `self.labels` order; higher is surer."""
        x = inputs(frame)
        if hasattr(self.pipeline, "decision_function"):
            raw = np.asarray(self.pipeline.decision_function(x), dtype=float)
        else:
            raw = np.asarray(self.pipeline.predict_proba(x), dtype=float)
        if self.task == "multilabel":
            return raw
        classes = [str(c) for c in self.pipeline.classes_]
        if raw.ndim == 1:  # binary decision_function: the score of classes_[1]
            raw = np.column_stack([-raw, raw])
        order = [classes.index(label) for label in self.labels]
        return raw[:, order]

    def save(self, directory: Path, card: dict[str, Any]) -> None:
        sio.dump(self.pipeline, directory / MODEL_FILE)
        full = {"backend": self.backend, "task": self.task, "labels": self.labels,
                "positive_label": self.positive_label, **card,
                "versions": library_versions()}
        (directory / CARD_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> SklearnModel:
        path = directory / MODEL_FILE
        unknown = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if unknown:
            raise PipelineError(f"{path}: holds types this project does not trust: {', '.join(unknown)}")
        return cls(sio.load(path, trusted=TRUSTED_TYPES), card["task"], card["labels"], card.get("positive_label"))



def library_versions() -> dict[str, str]:
    names = ["scikit-learn", "skops", "pandas", "numpy", "dvc", "dvclive"]
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


BACKENDS = {"sklearn": SklearnModel, "transformer": TransformerModel}


def read_card(directory: Path | str) -> dict[str, Any]:
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise PipelineError(f"{directory}: no saved model here ({CARD_FILE} missing; run dvc repro or dvc pull)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(directory: Path | str) -> SklearnModel | TransformerModel:
    """Load any saved model; callers never ask which backend it is."""
    directory = Path(directory)
    card = read_card(directory)
    backend = BACKENDS.get(card.get("backend", ""))
    if backend is None:
        raise PipelineError(f"{directory}: unknown model backend {card.get('backend')!r}")
    return backend.load(directory, card)
