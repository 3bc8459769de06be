"""The scikit-learn backend: TF-IDF features and an estimator in one Pipeline, saved with skops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import parallel_config
from sklearn.base import ClassifierMixin, is_classifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC, LinearSVC

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.params import (
    EXACT_KERNEL_ROWS,
    FeatureParams,
    IterativeParams,
    SgdParams,
    SklearnParams,
    SvcParams,
)
from mlkit.modeling import skops_file
from mlkit.modeling.base import CARD_FILE, Model, indicator
from mlkit.modeling.embeddings import SentenceEmbedder
from mlkit.modeling.kernel import KernelFeatures

MODEL_FILE = "model.skops"
PREDICT_CHUNK = 65_536  # rows turned into features at a time when predicting or scoring


def exact_kernel(params: SvcParams, rows: int) -> bool:
    """Whether svc fits the exact kernel on `rows` train rows (else Nystroem features and a linear SVM)."""
    return params.approximation == "exact" or (params.approximation == "auto" and rows <= EXACT_KERNEL_ROWS)


def build_estimator(params: SklearnParams, rows: int = 0) -> ClassifierMixin:
    """The estimator `params` name, for `rows` train rows (svc's `approximation: auto` decides on them)."""
    if isinstance(params, SvcParams) and exact_kernel(params, rows):
        return SVC(C=params.C, gamma=params.gamma, kernel=params.kernel, class_weight=params.class_weight,
                   random_state=params.seed)
    if isinstance(params, SvcParams):
        kernel = KernelFeatures(kernel=params.kernel, gamma=params.gamma, n_components=params.n_components,
                                random_state=params.seed)
        # LinearSVC's hinge loss: an SVC's, on the kernel's features.
        svm = LinearSVC(C=params.C, loss="hinge", class_weight=params.class_weight, max_iter=APPROXIMATE_ITER,
                        random_state=params.seed)
        return Pipeline([("kernel", kernel), ("svm", svm)])
    # By type, not class: linear_svc and logreg read the same keys, and a copy switched between them stays valid.
    if isinstance(params, IterativeParams) and params.type == "linear_svc":
        return LinearSVC(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter,
                         random_state=params.seed)
    if isinstance(params, SgdParams):
        return sgd_classifier(params)
    if isinstance(params, IterativeParams):
        return LogisticRegression(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter,
                                  random_state=params.seed)
    return RandomForestClassifier(n_estimators=params.n_estimators, class_weight=params.class_weight,
                                  random_state=params.seed, n_jobs=-1)


def sgd_classifier(params: SgdParams, class_weight: Any = "default") -> SGDClassifier:
    """model.type sgd: `passes` epochs of a whole-table fit, or the estimator partial_fit updates batch by batch
    (with `class_weight` as a mapping there: partial_fit cannot count the classes itself)."""
    return SGDClassifier(loss=params.loss, alpha=params.alpha, max_iter=params.passes, tol=None,
                         class_weight=params.class_weight if class_weight == "default" else class_weight,
                         random_state=params.seed)


# Fit time grows faster than the rows for these two: CPU seconds measured on benchmarks/scaling.py's
# synthetic texts (default features, one core): RBF SVC 6.5 s at 4,000 rows and 34 s at 8,000 (b ~ 2.2),
# random forest 7 s at 2,000 and 20 s at 4,000 (b ~ 1.5). A rough guide: other texts and CPUs differ.
FIT_COST = {"svc": (8_000, 34.0, 2.2), "random_forest": (4_000, 20.0, 1.5)}
SLOW_FIT_SECONDS = 300
APPROXIMATE_ITER = 5000


def fit_warning(params: SklearnParams, rows: int) -> str | None:
    """A warning, before a long fit starts, that model.type will take long on `rows` train rows."""
    if params.type not in FIT_COST or (isinstance(params, SvcParams) and not exact_kernel(params, rows)):
        return None
    measured_rows, seconds, power = FIT_COST[params.type]
    estimate = seconds * (rows / measured_rows) ** power
    if estimate < SLOW_FIT_SECONDS:
        return None
    advice = ("approximation: auto or nystroem grows about linearly" if params.type == "svc" else
              "linear_svc or logreg grow about linearly")
    return (f"warning: model.type {params.type} on {rows:,} train rows: roughly {estimate / 60:,.0f} min of CPU to fit "
            f"(it grows as rows^{power}); {advice} (docs: Scale)")


def tfidf(params: FeatureParams, analyzer: str, ngrams: tuple[int, int]) -> TfidfVectorizer | Pipeline:
    if params.hashing is None:
        return TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=params.min_df,
                               max_features=params.max_features, sublinear_tf=params.sublinear_tf,
                               lowercase=params.lowercase)
    # Counts hashed into fixed columns (no vocabulary_ to hold or save), then the same idf weighting.
    counts = HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=params.hashing,
                               alternate_sign=False, norm=None, lowercase=params.lowercase)
    return Pipeline([("counts", counts), ("tfidf", TfidfTransformer(sublinear_tf=params.sublinear_tf))])


def build_features(params: FeatureParams) -> FeatureUnion:
    parts = []
    if params.word_ngrams:
        parts.append(("word", tfidf(params, "word", params.word_ngrams)))
    if params.char_ngrams:
        parts.append(("char", tfidf(params, "char_wb", params.char_ngrams)))
    if params.embedding:
        parts.append(("embedding", SentenceEmbedder(params.embedding, params.embedding_max_length)))
    return FeatureUnion(parts)


def build_pipeline(features: FeatureParams, model: SklearnParams, task: str, text: bool, rows: int = 0) -> Pipeline:
    estimator = build_estimator(model, rows)
    # SVC's own multiclass scheme is one-vs-one; one-vs-rest, as LinearSVC does it, keeps the RBF default within
    # 0.01 of the best linear model on emotion's six classes (benchmarks/default_model.py), at about three times
    # the fit time.
    if task == "multilabel" or (task == "multiclass" and isinstance(estimator, SVC)):
        estimator = OneVsRestClassifier(estimator, n_jobs=-1)
    steps = [("features", build_features(features))] if text else []
    # Digits keep their raw pixel values: the classic C/gamma study is defined on them.
    return Pipeline(steps + [("classifier", estimator)])


def inputs(frame: pd.DataFrame) -> Any:
    if "text" in frame.columns:
        return frame["text"].astype(str).tolist()
    return np.vstack(frame["features"].to_numpy())


class SklearnModel(Model):
    """A scikit-learn Pipeline (TF-IDF features and an estimator, or an estimator on digits' pixels)."""

    backend = "sklearn"

    def __init__(self, pipeline: Pipeline, task: str, labels: list[str], positive_label: str | None = None):
        super().__init__(task, labels, positive_label)
        self.pipeline = pipeline

    def _targets(self, frame: pd.DataFrame) -> Any:
        if self.task == "multilabel":
            return indicator(frame["labels"], self.labels)
        return frame["label"].astype(str).to_numpy()

    def fit(self, train: pd.DataFrame, valid: pd.DataFrame | None = None, live: Any = None) -> dict[str, float]:
        """`valid` and `live` are unused: scikit-learn models are tuned by experiments, in one fit."""
        # No memory-mapping for worker processes: SVC sorts sparse indices in place, which fails on
        # joblib's read-only memmaps when one-vs-rest fits labels in parallel.
        try:
            with parallel_config(max_nbytes=None):
                self.pipeline.fit(inputs(train), self._targets(train))
        except ValueError as exc:
            # The vectorizers' refusals (min_df above the texts a term can reach, nothing left after pruning)
            # are about the features settings and this train split, not a fault of the code.
            if "min_df" not in str(exc) and "vocabulary" not in str(exc):
                raise
            raise PipelineError(f"features: {first_line(exc)} on {len(train):,} train texts; lower features.min_df "
                                "(or max_features), or check the texts") from None
        return {}

    def _in_chunks(self, method: Callable[[Any], Any], frame: pd.DataFrame) -> np.ndarray:
        """`method` over PREDICT_CHUNK rows at a time: the features of one chunk in memory, whatever the rows."""
        if len(frame) <= PREDICT_CHUNK:
            return np.asarray(method(inputs(frame)))
        return np.concatenate([np.asarray(method(inputs(frame.iloc[begin:begin + PREDICT_CHUNK])))
                               for begin in range(0, len(frame), PREDICT_CHUNK)])

    def _labels(self, predicted: np.ndarray) -> list[Any]:
        if self.task == "multilabel":
            return [[self.labels[j] for j in np.flatnonzero(row)] for row in np.asarray(predicted)]
        return [str(p) for p in predicted]

    def predict(self, frame: pd.DataFrame) -> list[Any]:
        return self._labels(self._in_chunks(self.pipeline.predict, frame))

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        estimator = self.pipeline.steps[-1][1]
        # One-vs-rest says it has a decision function when its first label's estimator has one: a constant one
        # (a label train never shows) has, a random forest beside it has not. The estimator it copies decides.
        if hasattr(estimator.estimator if isinstance(estimator, OneVsRestClassifier) else estimator,
                   "decision_function"):
            raw = self._in_chunks(self.pipeline.decision_function, frame).astype(float)
        else:
            raw = self._in_chunks(self.pipeline.predict_proba, frame).astype(float)
        if self.task == "multilabel":
            return raw
        classes = [str(c) for c in self.pipeline.classes_]
        if raw.ndim == 1:  # binary decision_function: the score of classes_[1]
            raw = np.column_stack([-raw, raw])
        order = [classes.index(label) for label in self.labels]
        return raw[:, order]

    def labels_from_scores(self, scores: np.ndarray) -> list[Any]:
        """`predict`'s labels for rows of `scores`, read as scikit-learn's predict reads its estimator's scores:
        the highest in the estimator's classes' order (a tie: the first), or (multilabel) every label above
        OneVsRestClassifier's cut, 0 on a classifier's decision function, else 0.5 on probabilities."""
        if self.task == "multilabel":
            estimator = self.pipeline.steps[-1][1]
            first = estimator.estimators_[0] if hasattr(estimator, "estimators_") else estimator
            cut = 0.0 if hasattr(first, "decision_function") and is_classifier(first) else 0.5
            return self._labels((np.asarray(scores) > cut).astype(int))
        classes = [str(c) for c in self.pipeline.classes_]
        in_class_order = np.asarray(scores)[:, [self.labels.index(c) for c in classes]]
        if len(classes) == 2 and isinstance(self.pipeline.steps[-1][1], SVC):
            # libsvm's predict: the second class at a decision of exactly 0 (a text none of whose features the
            # model knows scores the intercept, 0 on balanced classes), where argmax takes the first.
            return [classes[int(row[1] >= row[0])] for row in in_class_order]
        return [classes[j] for j in in_class_order.argmax(axis=1)]

    def predict_with_scores(self, frame: pd.DataFrame) -> tuple[list[Any], np.ndarray]:
        """One pass: features and the estimator's scores once (its kernel or trees, the bulk of the cost), the
        labels read off them."""
        scores = self.scores(frame)
        return self.labels_from_scores(scores), scores

    def save_files(self, directory: Path) -> None:
        # TfidfVectorizer caches id(self.stop_words) in `_stop_words_id` to skip re-checking them; a memory
        # address would make every saved file differ, and a missing cache only means one check again.
        for _, part in self.pipeline.named_steps.get("features", FeatureUnion([])).transformer_list:
            for step in part.named_steps.values() if isinstance(part, Pipeline) else [part]:
                if hasattr(step, "_stop_words_id"):
                    del step._stop_words_id
        skops_file.dump(self.pipeline, directory / MODEL_FILE)

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> SklearnModel:
        pipeline = skops_file.load(directory / MODEL_FILE)
        model = cls(pipeline, card["task"], card["labels"], card.get("positive_label"))
        known = {str(c) for c in getattr(pipeline, "classes_", [])} if card["task"] != "multilabel" else None
        if known is not None and known != set(model.labels):
            raise PipelineError(f"{directory / CARD_FILE}: its labels ({', '.join(model.labels)}) are not the "
                                f"model's classes ({', '.join(sorted(known))})")
        return model
