"""The params.yaml schema: every key typed and checked once, before a stage does any work."""

from __future__ import annotations

import json
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
from mlkit.core.metric_names import Metric, metric_problem, task_metrics
from mlkit.core.model_params import (
    DEFAULT_CHECKPOINT,
    EXACT_KERNEL_ROWS,
    MODEL_CLASSES,
    MODEL_TYPES,
    SKLEARN_TYPES,
    TRANSFORMER,
    BaseModelParams,
    FeatureParams,
    IterativeParams,
    LinearSvcParams,
    LogregParams,
    ModelParams,
    RandomForestParams,
    SgdParams,
    SklearnParams,
    SvcParams,
    TransformerParams,
    card_params,
    model_params,
    readers,
    unread_keys,
    unread_why,
)
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
from mlkit.core.train_params import TrainParams, distributed_problems

# The schema's one entry point: the data section's classes (source_params.py), the features and model
# sections' (model_params.py) and the metric names (metric_names.py) are re-exported here.
__all__ = ["NETWORK_KINDS", "SOURCE_KINDS", "Columns", "DataParams", "DigitsSource", "EmbeddedSource", "FileSource",
           "HubSource", "Section", "Source", "TableFormat", "AUGMENT_METHODS", "DEFAULT_CHECKPOINT",
           "EXACT_KERNEL_ROWS", "MODEL_CLASSES", "MODEL_TYPES", "SKLEARN_TYPES", "TRANSFORMER", "PARAMS_FILE",
           "AugmentParams", "BaseModelParams", "CompareParams", "FeatureParams", "IterativeParams", "LinearSvcParams",
           "LogregParams", "Metric", "ModelParams", "Params", "RandomForestParams", "SgdParams", "SklearnParams",
           "SplitParams", "SvcParams", "TrainParams", "TransformerParams", "card_params", "check_for_data",
           "load_params", "metric_problem", "model_params", "read_yaml", "readers", "streaming_problems",
           "task_metrics", "unread_keys", "unread_why", "validate"]

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
    metric: Metric = Metric.F1_MACRO
    resamples: int = Field(default=1000, ge=1, description="paired bootstrap resamples of the test split")
    seed: int = 42
    level: float = Field(default=0.95, gt=0, lt=1, description="confidence level of the interval")
    min_gain: float = Field(default=0.0, ge=0, description="promote when the interval's lower end is above this")


# ---------------------------------------------------------------- data-parallel fine-tuning (the train stage)
class Params(Section):
    data: DataParams
    split: SplitParams = SplitParams()
    augment: AugmentParams = AugmentParams()
    features: FeatureParams = FeatureParams()
    model: ModelParams = SvcParams()
    evaluate: EvaluateParams = EvaluateParams()
    compare: CompareParams = CompareParams()
    train: TrainParams = Field(default_factory=TrainParams, description="how many processes and machines a "
                               "fine-tuning runs on (train): data-parallel, the global batch kept")


# ---------------------------------------------------------------- data.streaming
def streaming_problems(params: Params) -> list[str]:
    """What data.streaming cannot run with, each as `key: why; allowed`: every stage it streams through must hold
    one batch, never the whole table (a vocabulary, a kernel, a stratified split or an augmentation would)."""
    if not params.data.streaming:
        return []
    why = "data.streaming: true"
    problems = []
    if params.features.hashing is None:
        problems.append(f"features.hashing: null builds a vocabulary that grows with the rows, and {why} holds one "
                        "batch; set it, e.g. 1048576 (with min_df: 1)")
    if params.features.embedding is not None:
        problems.append(f"features.embedding: {params.features.embedding!r} is not streamed ({why}); allowed: null")
    if params.model.type != "sgd":
        problems.append(f"model.type: {params.model.type!r} fits the whole table at once, and {why} trains batch by "
                        "batch; allowed: 'sgd'")
    if params.augment.methods or params.augment.balance.target_share is not None:
        problems.append(f"augment.methods: {params.augment.methods} (or augment.balance) holds the train split in "
                        f"memory, and {why} passes it through; allowed: [] and balance.target_share: null")
    if params.split.stratify:
        problems.append(f"split.stratify: true needs the whole table, and {why} assigns each text to a split by a "
                        "hash of it; allowed: false")
    return problems


# ---------------------------------------------------------------- settings that depend on the data
def check_for_data(params: Params, task: str, positive: str | None, text: bool) -> None:
    """Every setting that depends on the task or the kind of data, checked as soon as fetch knows them (and
    again by train, from the data card), so that no stage trains for a setting a later stage refuses."""
    metric = metric_problem(params.compare.metric, task, positive)
    problems = [metric] if metric else []
    if not text:
        if params.model.type == TRANSFORMER:
            types = ", ".join(SKLEARN_TYPES)
            problems.append("model.type: 'transformer' needs text, and this data is numeric features; "
                            f"allowed: {types}")
        if params.augment.methods:
            problems.append(f"augment.methods: {params.augment.methods} needs text, and this data is numeric "
                            "features; allowed: []")
        if params.augment.balance.target_share is not None:
            problems.append("augment.balance.target_share: augments texts, and this data is numeric features; "
                            "allowed: null")
        defaults = FeatureParams()
        problems += [f"features.{name}: turns texts into features, and this data is numeric features; remove it "
                     f"(its default is {json.dumps(getattr(defaults, name))})"
                     for name in FeatureParams.model_fields
                     if getattr(params.features, name) != getattr(defaults, name)]
    if params.data.streaming and (task == "multilabel" or not text):
        problems.append(f"data.streaming: true streams single-label texts, and this data is "
                        f"{'multilabel' if text else 'numeric features'}; allowed: false")
    if task == "multilabel" and isinstance(params.model, TransformerParams) and params.model.label_smoothing:
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
        elif loc[:i] == ("model",) and item in MODEL_TYPES:
            continue  # the same for the model section's union
        elif "[" in str(item) or str(item).startswith("function-"):
            continue  # internal validator names
        else:
            parts.append(str(item))
    return ".".join(parts)


def _model_type_error(error: ErrorDetails) -> bool:
    return error["loc"] == ("model",) and error["type"] in ("union_tag_invalid", "union_tag_not_found")


def _message(error: ErrorDetails) -> str:
    text = error["msg"].removeprefix("Value error, ")
    if _model_type_error(error):
        allowed = ", ".join(repr(t) for t in MODEL_TYPES[:-1]) + f" or {MODEL_TYPES[-1]!r}"
        return f"Input should be {allowed} (got {error['input'].get('type')!r})"
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
        params = Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_key(e['loc'])}{'.type' if _model_type_error(e) else ''}: {_message(e)}"
                             for e in exc.errors())
        raise PipelineError(f"{origin}: {problems}") from None
    unread = unread_keys(params) + streaming_problems(params) + distributed_problems(params.train, params.model)
    if unread:
        raise PipelineError(f"{origin}: {'; '.join(unread)}")
    return params


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
