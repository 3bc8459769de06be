"""The model factory: model.type picks the backend and the estimator, with exactly that type's params."""

from __future__ import annotations

import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC, LinearSVC

from mlkit.core.params import TransformerParams, validate
from mlkit.modeling import factory
from mlkit.modeling.factory import DataFacts, build_model, build_warning, describe, uses_valid
from mlkit.modeling.sklearn_model import SklearnModel
from mlkit.testing import ROOT

pytestmark = pytest.mark.fast

TEXTS = DataFacts(task="multiclass", labels=["a", "b", "c"], positive_label=None, text=True, rows=100)


def params(**model):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["model"] = model
    return validate(raw)


@pytest.mark.parametrize(("model", "estimator"), [
    ({"type": "svc"}, SVC), ({"type": "linear_svc", "C": 0.5}, LinearSVC), ({"type": "logreg"}, LogisticRegression),
    ({"type": "random_forest", "n_estimators": 7}, RandomForestClassifier)])
def test_each_scikit_learn_type_builds_its_estimator_with_its_params(model: dict, estimator: type) -> None:
    built = build_model(params(**model), TEXTS)
    assert isinstance(built, SklearnModel) and (built.task, built.labels) == ("multiclass", ["a", "b", "c"])
    step = built.pipeline.named_steps["classifier"]
    step = step.estimator if isinstance(step, OneVsRestClassifier) else step  # svc: one-vs-rest beyond binary
    assert type(step) is estimator
    for key, value in model.items():
        if key != "type":
            assert step.get_params()[key] == value
    assert "features" in built.pipeline.named_steps and not uses_valid(params(**model))


def test_numeric_data_gets_no_text_features_and_no_fit_warning() -> None:
    digits = DataFacts(task="multiclass", labels=["0", "1"], positive_label=None, text=False, rows=10**6)
    built = build_model(params(type="svc", approximation="exact"), digits)
    assert isinstance(built, SklearnModel) and list(built.pipeline.named_steps) == ["classifier"]
    assert build_warning(params(type="svc", approximation="exact"), digits) is None
    many = DataFacts(**{**TEXTS.__dict__, "rows": 10**6})
    assert build_warning(params(type="svc", approximation="exact"), many).startswith("warning: model.type svc")


def test_a_transformer_is_built_by_its_backend_from_its_own_params(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlkit.modeling import transformer

    calls = []
    monkeypatch.setattr(transformer.TransformerModel, "build",
                        classmethod(lambda cls, p, task, labels, positive: calls.append((p, task, labels)) or "built"))
    chosen = params(type="transformer", epochs=1)
    assert build_model(chosen, TEXTS) == "built"
    assert isinstance(calls[0][0], TransformerParams) and calls[0][0].epochs == 1
    assert uses_valid(chosen) and build_warning(chosen, TEXTS) is None
    assert describe(chosen) == "transformer (sentence-transformers/all-MiniLM-L6-v2)"
    assert describe(params(type="logreg")) == "logreg"


def test_the_scikit_learn_path_does_not_import_the_transformer_backend() -> None:
    assert "transformer" not in factory.__dict__ and "TransformerModel" not in factory.__dict__
