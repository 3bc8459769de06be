"""The served model: loaded and given its texts as `mlkit predict` loads and prepares them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.io import read_json
from mlkit.modeling.base import Model, ModelCard, load_model
from mlkit.tools.predict import model_frame, trained_columns

# A request's text: the text itself, or the model's text columns by name (joined as in training).
Text = str | dict[str, str]


@dataclass(frozen=True)
class Origin:
    """Where the served model came from, for /metadata: a folder, or a registry version at a commit."""

    source: str                       # the folder, or the repository's URL
    version: str | None = None        # the registry's version (v1.2.0)
    stage: str | None = None          # the stage asked for (prod)
    commit: str | None = None         # the commit holding the model
    metrics: dict[str, Any] | None = field(default=None)  # metrics/eval/metrics.json as committed with it


@dataclass
class ServedModel:
    model: Model
    card: ModelCard
    origin: Origin

    @classmethod
    def load(cls, folder: Path | str, origin: Origin) -> ServedModel:
        """The model in `folder` (skops allowlist or safetensors, as load_model always loads) and its card,
        read through ModelCard; any problem with either is one PipelineError."""
        card = ModelCard.read(folder)
        return cls(load_model(folder), card, origin)

    @property
    def text_columns(self) -> list[str]:
        return trained_columns(self.card).text_columns

    def frame(self, texts: list[Text]) -> pd.DataFrame:
        """The rows the model reads: a text as given, or its columns joined as training joined them; then
        cleaned as predict cleans a file's texts."""
        spec = trained_columns(self.card)
        columns = spec.text_columns
        table = pd.DataFrame({name: [t.get(name, "") if isinstance(t, dict) else (t if i == 0 else "")
                                     for t in texts] for i, name in enumerate(columns)}, dtype="string")
        return model_frame(table, spec, "request")

    def run(self, frame: pd.DataFrame) -> tuple[list[Any], list[dict[str, float]]]:
        """Labels (a list per text: multilabel) and every label's score per text, in the rows' order; one pass of
        the model gives both, the labels those `mlkit predict` gives."""
        labels, scores = self.model.predict_with_scores(frame)
        names = self.model.labels
        return labels, [{name: round(float(v), 6) for name, v in zip(names, row)} for row in scores]

    def metadata(self) -> dict[str, Any]:
        origin = self.origin
        card = self.card
        return {"task": card.task, "labels": card.labels, "backend": card.backend, "version": origin.version,
                "stage": origin.stage, "commit": origin.commit, "source": origin.source, "metrics": origin.metrics,
                "text_columns": self.text_columns, "card": card.as_json()}


def folder_metrics(folder: Path) -> dict[str, Any] | None:
    """The evaluate stage's headline metrics beside a project's models/NAME folder, when there are some."""
    path = folder.resolve().parents[1] / paths.EVAL_METRICS if len(folder.resolve().parents) > 1 else None
    if path is None or not path.is_file():
        return None
    try:
        found = read_json(path)
    except (PipelineError, ValueError):  # a broken metrics file costs the metadata its metrics, not the server
        return None
    return found if isinstance(found, dict) else None
