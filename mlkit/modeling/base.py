"""The one model interface every backend implements; the model card both backends write is card.py's.

A saved model is a folder: the backend's own files (skops, or safetensors + tokenizer) and `card.json`,
which says which backend reads the folder, the task, the labels and what the model was trained on.
evaluate, compare and predict call `load_model` and never ask which backend they hold.
"""

from __future__ import annotations

import importlib
import platform
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.modeling.card import CARD_FILE, ModelCard, read_card

__all__ = ["BACKENDS", "CARD_FILE", "Model", "ModelCard", "indicator", "load_model", "read_card", "versions"]

# backend name -> "module:class"; imported on use, so the scikit-learn path never loads torch.
BACKENDS = {"sklearn": "mlkit.modeling.sklearn_model:SklearnModel",
            "transformer": "mlkit.modeling.transformer:TransformerModel"}
VERSIONED = ("scikit-learn", "skops", "pandas", "numpy", "dvc", "dvclive")


def indicator(rows: Iterable[Iterable[str]], labels: list[str]) -> np.ndarray:
    """Multilabel rows (lists of label names) -> a 0/1 matrix with one column per label, in `labels` order."""
    index = {label: j for j, label in enumerate(labels)}
    rows = list(rows)
    matrix = np.zeros((len(rows), len(labels)), dtype=int)
    for i, row in enumerate(rows):
        for label in row:
            matrix[i, index[label]] = 1
    return matrix


def versions(names: Iterable[str] = VERSIONED) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


class Model(ABC):
    """A trained classifier plus what evaluate and predict need to know: the task and the labels."""

    backend: ClassVar[str]

    def __init__(self, task: str, labels: list[str], positive_label: str | None = None):
        self.task = task
        self.labels = list(labels)
        self.positive_label = positive_label
        self.card: dict[str, Any] = {}  # the card.json it was loaded with (load_model sets it)

    @abstractmethod
    def fit(self, train: pd.DataFrame, valid: pd.DataFrame | None = None, live: Any = None) -> dict[str, float]:
        """Train on `train` (`valid`: early stopping and thresholds, where the backend uses it); `live`, a
        dvclive.Live for training curves. Returns named timings (seconds, samples per second)."""

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> list[Any]:
        """A label per row, or a list of labels per row (multilabel)."""

    @abstractmethod
    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Confidence per label, shape (rows, labels), columns in `self.labels` order; higher is surer."""

    @abstractmethod
    def predict_with_scores(self, frame: pd.DataFrame) -> tuple[list[Any], np.ndarray]:
        """`predict`'s labels and `scores`' scores for the same rows from one pass of the model over them
        (a transformer's forward pass, a pipeline's features): for callers that need both, as serve does."""

    @abstractmethod
    def save_files(self, directory: Path) -> None:
        """Write the backend's own files into `directory`."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> Model:
        """Read what `save_files` wrote; `card` is the folder's model card."""

    def card_fields(self) -> dict[str, Any]:
        """What this backend adds to the model card (read back by `load`)."""
        return {}

    def library_versions(self) -> dict[str, str]:
        return versions()

    def model_card(self, trained: Mapping[str, Any] | None = None) -> ModelCard:
        """This model's card: what it is, the backend's own fields, `trained` (what train records: params,
        data files, columns, label_map; see card.TRAINED_KEYS) and the library versions."""
        return ModelCard.model_validate({
            "backend": self.backend, "task": self.task, "labels": self.labels, "positive_label": self.positive_label,
            **self.card_fields(), **(trained or {}), "versions": self.library_versions()})

    def save(self, directory: Path, trained: Mapping[str, Any] | None = None) -> None:
        """The backend's files and the model card, into `directory`."""
        self.save_files(directory)
        self.model_card(trained).write(directory)


def load_model(directory: Path | str) -> Model:
    """Load any saved model; callers never ask which backend it is."""
    directory = Path(directory)
    card = read_card(directory)
    where = BACKENDS.get(card["backend"])
    if where is None:
        raise PipelineError(f"{directory}: unknown model backend {card['backend']!r}; known: {', '.join(BACKENDS)}")
    module, name = where.split(":")
    backend: type[Model] = getattr(importlib.import_module(module), name)
    model = backend.load(directory, card)
    model.card = card
    return model
