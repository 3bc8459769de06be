"""A scikit-learn model's labels read off its scores are its `predict`'s, for every model type and task: serve
scores each batch once and derives the labels, so any difference would be a served label `mlkit predict`
does not give."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from mlkit.core.params import model_params, validate
from mlkit.modeling.factory import DataFacts, build_model
from mlkit.testing import committed

pytestmark = pytest.mark.fast

# The labels in an order of their own: the estimator's classes are sorted, the scores' columns are not.
LABELS = {"binary": ["b", "a"], "multiclass": ["c", "a", "b"], "multilabel": ["z", "x", "y"]}
TYPES = {"svc": {}, "svc_nystroem": {"type": "svc", "approximation": "nystroem", "n_components": 20},
         "linear_svc": {}, "logreg": {}, "sgd": {},
         "random_forest": {"n_estimators": 4}}  # four trees: probabilities tie, and a tie goes as predict's
# Texts that name one label, two, or none: close calls and ties.
TEXTS = ["aword", "bword", "cword", "aword bword", "bword cword", "nothing here", "xword yword", "zword",
         "xword", "aword cword xword", "", "yword yword bword", "plain words"]


def table(task: str) -> pd.DataFrame:
    labels = LABELS[task]
    if task == "multilabel":  # z (the first label, first estimator of one-vs-rest) never occurs: a constant one
        tags = [[t for k, t in enumerate(["x", "y"]) if (i % 4) >> k & 1] for i in range(60)]
        return pd.DataFrame({"text": [f"r{i} " + " ".join(f"{t}word" for t in row) for i, row in enumerate(tags)],
                             "labels": tags})
    picked = [labels[i % len(labels)] for i in range(60)]
    noise = [f"{labels[(i * 7) % len(labels)]}word" if i % 5 == 0 else "" for i in range(60)]
    return pd.DataFrame({"text": [f"r{i} {p}word {n}" for i, (p, n) in enumerate(zip(picked, noise))],
                         "label": picked})


@pytest.mark.parametrize("task", list(LABELS))
@pytest.mark.parametrize("name", list(TYPES))
def test_labels_read_off_the_scores_are_predicts(name: str, task: str) -> None:
    params = validate(yaml.safe_load(committed("params.yaml")), "params.yaml")
    chosen = model_params(**({"type": name} | TYPES[name]))
    train = table(task)
    model = build_model(params.model_copy(update={"model": chosen}),
                        DataFacts(task, LABELS[task], None, True, len(train)))
    model.fit(train)
    frame = pd.DataFrame({"text": TEXTS + list(train["text"])})
    labels, scores = model.predict_with_scores(frame)
    assert labels == model.predict(frame)
    assert (scores == model.scores(frame)).all()
    assert model.labels_from_scores(scores) == labels  # type: ignore[attr-defined]
