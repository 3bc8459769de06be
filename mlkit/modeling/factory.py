"""The model params.yaml names, built untrained: the one place that maps a model.type to its backend.

Each backend's params are their own class (mlkit.core.model_params), so a builder receives exactly the keys its
model reads; the transformer backend is imported only when chosen, so the scikit-learn path never loads torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlkit.core.params import Params, TransformerParams
from mlkit.modeling.base import Model
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline, fit_warning


@dataclass(frozen=True)
class DataFacts:
    """What the data card and the train split tell a builder: the task, the labels, the kind and size of data."""

    task: str
    labels: list[str]
    positive_label: str | None
    text: bool          # texts (else numeric features: digits' pixels)
    rows: int           # train rows: svc's `approximation: auto` and the fit-time warning decide on them


def build_model(params: Params, data: DataFacts) -> Model:
    """The untrained model for params' features and model sections; every check that needs the checkpoint or
    the data happens here, before any training."""
    if isinstance(params.model, TransformerParams):
        from mlkit.modeling.transformer import TransformerModel  # text data: check_for_data refused features

        return TransformerModel.build(params.model, data.task, data.labels, data.positive_label)
    pipeline = build_pipeline(params.features, params.model, data.task, data.text, data.rows)
    return SklearnModel(pipeline, data.task, data.labels, data.positive_label)


def uses_valid(params: Params) -> bool:
    """Whether training reads the valid split (a transformer's early stopping, best epoch and thresholds)."""
    return isinstance(params.model, TransformerParams)


def build_warning(params: Params, data: DataFacts) -> str | None:
    """A warning, before a long fit starts, that this model will take long on this many rows; or None."""
    if isinstance(params.model, TransformerParams) or not data.text:
        return None
    return fit_warning(params.model, data.rows)


def describe(params: Params) -> str:
    """The model in a log line: its type, and the checkpoint a transformer starts from."""
    model = params.model
    return f"{model.type} ({model.checkpoint})" if isinstance(model, TransformerParams) else model.type
