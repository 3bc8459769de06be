"""The model card (card.json): which backend reads a saved model's folder, the task, the labels, what the
model was trained on and with which libraries. evaluate, compare and predict read it; train writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mlkit.core.errors import PipelineError

CARD_FILE = "card.json"
TASKS = ("binary", "multiclass", "multilabel")
# What train records besides the model's own fields, in card.json's order; a card saved outside train (a test,
# a benchmark) has none of them, and a key left unset is left out of the file.
TRAINED_KEYS = ("params", "train_data", "columns", "label_map", "valid_data")


class DataFile(BaseModel):
    """A data file a model was trained on: the path, its md5 (the version DVC tracked) and its rows."""

    model_config = ConfigDict(extra="forbid")
    path: str
    md5: str
    rows: int


class ModelCard(BaseModel):
    """card.json. A backend's own fields (a transformer's max_length, thresholds, environment) are extra
    fields, written after the labels, as `Model.card_fields` gives them."""

    model_config = ConfigDict(extra="allow")
    backend: str
    task: Literal["binary", "multiclass", "multilabel"]
    labels: list[str]
    positive_label: str | None = None
    params: dict[str, Any] | None = None          # params.yaml's features and model sections, every key
    train_data: DataFile | None = None
    columns: Any = None                           # the sources' text and label columns: predict's defaults
    label_map: dict[str, Any] | None = None       # predict maps a labelled file's labels the same way
    valid_data: DataFile | None = None            # transformers: early stopping, thresholds
    versions: dict[str, str] = {}

    def as_json(self) -> dict[str, Any]:
        """The card as card.json holds it, in its order; the train records left unset are left out."""
        values = self.model_dump(mode="json")
        shown = {key: values[key] for key in ("backend", "task", "labels", "positive_label")}
        shown.update(self.model_extra or {})
        shown.update({key: values[key] for key in TRAINED_KEYS if key in self.model_fields_set})
        shown["versions"] = values["versions"]
        return shown

    def write(self, directory: Path) -> None:
        (directory / CARD_FILE).write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path | str) -> ModelCard:
        """A model folder's card, checked; one PipelineError line naming the file and the key when it is wrong."""
        path = Path(directory) / CARD_FILE
        try:
            return cls.model_validate(read_card(directory))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise PipelineError(f"{path}: `{key}`: {first['msg']}") from None


REQUIRED = {"backend": str, "task": str, "labels": list}


def read_card(directory: Path | str) -> dict[str, Any]:
    """A model folder's card.json as a mapping, checked for the keys every reader needs."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise PipelineError(f"{directory}: no saved model here ({CARD_FILE} missing; run dvc repro or dvc pull)")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(card, dict):
        raise PipelineError(f"{path}: must hold a JSON object")
    for key, kind in REQUIRED.items():
        if not isinstance(card.get(key), kind):
            raise PipelineError(f"{path}: `{key}` is missing or not a {kind.__name__}")
    if card["task"] not in TASKS:
        raise PipelineError(f"{path}: unknown task {card['task']!r}")
    return card
