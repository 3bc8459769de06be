"""Training orchestration: the fit's curves folder and timings, and what the card records about training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlkit.core.model_params import CARD_KEYS
from mlkit.core.params import validate
from mlkit.modeling.card import DataFile
from mlkit.modeling.factory import build_model
from mlkit.modeling.training import data_facts, fit, timings_text, trained_record
from mlkit.testing import ROOT

pytestmark = pytest.mark.fast

TRAIN = pd.DataFrame({"id": range(30), "text": [f"word{i % 3} text {i}" for i in range(30)],
                      "label": [str(i % 3) for i in range(30)]})
CARD = {"task": "multiclass", "labels": ["0", "1", "2"], "positive_label": None, "columns": {"text": "t"},
        "label_map": {"x": "0"}}


def test_a_fit_logs_into_its_curves_folder_and_times_itself(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["features"]["min_df"] = 1
    params = validate(raw)
    model = build_model(params, data_facts(CARD, TRAIN))
    timings = fit(model, "svc", TRAIN, None, tmp_path)
    assert list(timings) == ["fit_seconds"] and timings["fit_seconds"] > 0
    assert (tmp_path / "plots" / "metrics").is_dir()  # the plots out exists for scikit-learn too
    assert model.predict(TRAIN[:3]) == ["0", "1", "2"]
    assert timings_text({"fit_seconds": 1.23456, "rate": 0.123456}) == '{"fit_seconds": 1.23, "rate": 0.1235}'


def test_the_card_records_every_model_key_the_data_and_predicts_defaults() -> None:
    params = validate(yaml.safe_load((ROOT / "params.yaml").read_text()))
    train = DataFile(path="data/augmented/train.parquet", md5="0" * 32, rows=30)
    record = trained_record(params, CARD, train)
    assert list(record) == ["params", "train_data", "columns", "label_map"]  # no valid_data: not read
    assert list(record["params"]["model"]) == list(CARD_KEYS)
    assert record["params"]["features"]["word_ngrams"] == [1, 2]
    assert (record["columns"], record["label_map"]) == ({"text": "t"}, {"x": "0"})
    valid = DataFile(path="data/split/valid.parquet", md5="1" * 32, rows=5)
    assert trained_record(params, {**CARD, "label_map": None}, train, valid)["valid_data"] == valid
    assert trained_record(params, {**CARD, "label_map": None}, train)["label_map"] == {}
