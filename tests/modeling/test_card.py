"""The model card: card.json written in the order and with the keys it has always had, read back typed,
and refused with one line naming the file and the key when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlkit.core.errors import PipelineError
from mlkit.modeling.card import CARD_FILE, DataFile, ModelCard, read_card

pytestmark = pytest.mark.fast

# A card as train writes it for the default params.yaml (the model section shortened: any mapping is kept).
TRAINED = """{
  "backend": "sklearn",
  "task": "multiclass",
  "labels": [
    "negative",
    "neutral",
    "positive"
  ],
  "positive_label": null,
  "params": {
    "features": {
      "min_df": 2
    },
    "model": {
      "type": "svc",
      "C": 3.0
    }
  },
  "train_data": {
    "path": "data/augmented/train.parquet",
    "md5": "2e7f7437fcb8f74ef2e1d85f97cd5bd4",
    "rows": 7000
  },
  "columns": null,
  "label_map": {},
  "versions": {
    "python": "3.11.7"
  }
}
"""


def test_a_trained_card_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / CARD_FILE).write_text(TRAINED)
    card = ModelCard.read(tmp_path)
    assert card.train_data == DataFile(path="data/augmented/train.parquet", md5="2e7f7437fcb8f74ef2e1d85f97cd5bd4",
                                       rows=7000)
    assert card.columns is None and "columns" in card.model_fields_set  # null in the file, so null again
    (tmp_path / "again").mkdir()
    card.write(tmp_path / "again")
    assert (tmp_path / "again" / CARD_FILE).read_text() == TRAINED


def test_a_backends_fields_follow_the_labels_and_unset_records_are_left_out(tmp_path: Path) -> None:
    card = ModelCard.model_validate({"backend": "transformer", "task": "multilabel", "labels": ["a", "b"],
                                     "max_length": 64, "thresholds": [0.5, 0.4], "label_map": {"1": "a"},
                                     "versions": {"torch": "2"}})
    assert list(card.as_json()) == ["backend", "task", "labels", "positive_label", "max_length", "thresholds",
                                    "label_map", "versions"]
    card.write(tmp_path)
    again = ModelCard.read(tmp_path)
    assert again.as_json() == card.as_json() and again.model_extra == {"max_length": 64, "thresholds": [0.5, 0.4]}
    assert read_card(tmp_path)["thresholds"] == [0.5, 0.4]  # the mapping the tools read


@pytest.mark.parametrize(("card", "expected"), [
    ({"backend": "sklearn", "task": "regression", "labels": []}, "unknown task 'regression'"),
    ({"backend": "sklearn", "task": "binary"}, "`labels` is missing or not a list"),
    ({"backend": "sklearn", "task": "binary", "labels": ["a", "b"], "train_data": {"path": "x"}},
     "`train_data.md5`: Field required"),
])
def test_a_wrong_card_is_one_line_naming_the_key(tmp_path: Path, card: dict, expected: str) -> None:
    (tmp_path / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(PipelineError) as caught:
        ModelCard.read(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / CARD_FILE}: ") and expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_no_card_says_how_to_get_the_model(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="no saved model here"):
        ModelCard.read(tmp_path)
