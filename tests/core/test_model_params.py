"""The model section as one class per model.type: which class params.yaml picks, which type reads which key
(derived from the classes' fields), the keys of other types, and card.json's flat view of them."""

from __future__ import annotations

import pytest
import yaml

from mlkit.core.errors import PipelineError
from mlkit.core.model_params import _OWNER, CARD_KEYS, LATER_KEYS
from mlkit.core.params import (
    MODEL_CLASSES,
    MODEL_TYPES,
    LinearSvcParams,
    LogregParams,
    SvcParams,
    TransformerParams,
    card_params,
    model_params,
    readers,
    validate,
)
from mlkit.testing import ROOT

pytestmark = pytest.mark.fast


def default() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def with_model(**model) -> dict:
    raw = default()
    raw["model"].update(model)
    return raw


def test_model_type_picks_the_class_and_a_section_without_one_is_svc() -> None:
    assert isinstance(validate(with_model(type="logreg")).model, LogregParams)
    assert isinstance(validate(with_model(type="linear_svc")).model, LinearSvcParams)
    bare = default()
    bare["model"].pop("type")
    assert isinstance(validate(bare).model, SvcParams)
    assert isinstance(validate({"data": default()["data"]}).model, SvcParams)


def test_readers_follow_the_classes_fields() -> None:
    assert readers("model.gamma") == {"svc"}
    assert readers("model.max_iter") == {"linear_svc", "logreg"}
    assert readers("model.C") == {"svc", "linear_svc", "logreg"}
    assert readers("model.seed") == set(MODEL_TYPES)
    assert readers("model.lr") == {"transformer"}
    assert readers("features.min_df") == set(MODEL_TYPES) - {"transformer"}
    for kind, cls in MODEL_CLASSES.items():
        for key in _OWNER:
            assert (kind in readers(f"model.{key}")) == (key in cls.model_fields), (kind, key)


def test_another_types_key_at_its_default_is_kept_aside() -> None:
    """`dvc exp run -S model.type=logreg` leaves the svc's keys in params.yaml: accepted at their defaults."""
    model = validate(with_model(type="logreg")).model
    assert isinstance(model, LogregParams) and not hasattr(model, "gamma")
    assert model.unread == {"gamma": 0.1, "kernel": "rbf", "approximation": "auto", "n_components": 1000}


@pytest.mark.parametrize(("model", "expected"), [
    ({"type": "linear_svc", "gamma": 0.5}, "params.yaml: model.gamma: model.type linear_svc does not read it (read "
     "by svc); remove it (its default is 0.1) or choose a model that reads it"),
    ({"type": "logreg", "gamma": -1}, "params.yaml: model.gamma: must be a number > 0, 'scale' or 'auto' (got -1)"),
    ({"type": "logreg", "C": 0, "gamma": -1}, "params.yaml: model.C: Input should be greater than 0 (got 0); "
     "model.gamma: must be a number > 0, 'scale' or 'auto' (got -1)"),
    ({"type": "transformer", "C": 1.0}, "params.yaml: model.C: model.type transformer does not read it"),
    ({"type": "xgboost"}, "params.yaml: model.type: Input should be 'svc', 'linear_svc', 'logreg', 'random_forest', 'sgd' "
     "or 'transformer' (got 'xgboost')"),
    ({"gama": 1}, "params.yaml: model.gama: unknown key"),
])
def test_each_problem_is_one_line_naming_the_key(model: dict, expected: str) -> None:
    with pytest.raises(PipelineError) as caught:
        validate(with_model(**model))
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_a_transformer_section_validates_its_own_keys() -> None:
    raw = default()
    raw["model"] = {"type": "transformer", "lr": 0}
    raw["features"] = {}
    with pytest.raises(PipelineError, match=r"^params.yaml: model.lr: Input should be greater than 0 \(got 0\)$"):
        validate(raw)
    raw["model"]["lr"] = 1e-4
    assert isinstance(validate(raw).model, TransformerParams)


# card.json's model section as the cards have always been written (the default params.yaml's model).
CARD_MODEL = {"type": "svc", "C": 3.0, "gamma": 0.1, "kernel": "rbf", "approximation": "auto", "n_components": 1000,
              "class_weight": "balanced", "max_iter": 5000, "n_estimators": 300, "seed": 42,
              "checkpoint": "sentence-transformers/all-MiniLM-L6-v2", "lr": 5e-05, "epochs": 3, "batch_size": 16,
              "max_length": 128, "warmup_ratio": 0.1, "weight_decay": 0.01, "grad_accum": 1, "patience": 2,
              "scheduler": "linear", "optimizer": "adamw_torch", "label_smoothing": 0.0, "freeze_layers": 0,
              "head_dropout": None, "thresholds": "per_label"}


def test_card_params_list_every_key_in_the_cards_order() -> None:
    assert sorted(CARD_KEYS + LATER_KEYS) == sorted(_OWNER)  # a key added to a class is written to the card too
    shown = card_params(validate(default()).model)
    assert list(shown.items()) == list(CARD_MODEL.items())
    logreg = card_params(model_params(type="logreg", C=0.5))
    assert logreg == {**CARD_MODEL, "type": "logreg", "C": 0.5}
    sgd = card_params(model_params(type="sgd", alpha=1e-5))  # later keys: only on the card of the type reading them
    assert list(sgd) == [*CARD_MODEL, *LATER_KEYS] and sgd["alpha"] == 1e-5
    assert model_params(**CARD_MODEL).model_dump() == SvcParams().model_dump()  # a card's section reads back as the params it came from
