"""`mlkit serve` on the other kinds of model: a multilabel one answers a list of labels per text, a fine-tuned
transformer answers what `mlkit predict` answers; and every request costs one pass of the model over its texts
(labels and scores from the same pass), whatever the backend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from mlkit.core.params import model_params, validate
from mlkit.modeling.base import Model
from mlkit.modeling.factory import DataFacts, build_model
from mlkit.modeling.metrics import PREDICTION_SEPARATOR
from mlkit.testing import ENV, ROOT, committed
from mlkit.testing.serving import Server, multiclass_model
from mlkit.tools.serve.model import Origin, ServedModel

TAGS = ["x", "y", "z"]
MOODS = {"joy": "so happy and glad", "sadness": "sad and lonely tonight", "anger": "furious and angry now"}


def multilabel(folder: Path) -> Path:
    """The default scikit-learn model on 96 rows whose words give their labels away: row i carries the tags
    of the bits of i % 8 (none for 0)."""
    params = validate(yaml.safe_load(committed("params.yaml")), "params.yaml")
    tags = [[t for k, t in enumerate(TAGS) if (i % 8) >> k & 1] for i in range(96)]
    frame = pd.DataFrame({"text": [f"row {i} " + " ".join(f"{t}word" for t in row) for i, row in enumerate(tags)],
                          "labels": tags})
    model = build_model(params, DataFacts("multilabel", TAGS, None, True, len(frame)))
    model.fit(frame)
    folder.mkdir(parents=True)
    model.save(folder, trained={"columns": {"text_column": "text", "label_column": None, "label_columns": TAGS}})
    return folder


def multiclass(folder: Path) -> Path:
    """The default scikit-learn model on 60 rows, a label each."""
    return multiclass_model(folder, [f"row {i} says {'abc'[i % 3]}word" for i in range(60)],
                            {"text_column": "text", "label_column": "label"})


def transformer(folder: Path) -> Path:
    """all-MiniLM-L6-v2 (offline) fine-tuned for one epoch on 48 short rows, 16 tokens at most."""
    from mlkit.modeling.transformer import TransformerModel

    labels = list(MOODS)
    frame = pd.DataFrame({"text": [f"{i} {MOODS[labels[i % 3]]}" for i in range(48)],
                          "label": [labels[i % 3] for i in range(48)]})
    params = model_params(type="transformer", max_length=16, epochs=1, batch_size=8, lr=3e-4, warmup_ratio=0.0)
    model = TransformerModel.build(params, "multiclass", labels, None)  # type: ignore[arg-type]
    model.fit(frame)
    folder.mkdir(parents=True)
    model.save(folder, trained={"columns": {"text_column": "text", "label_column": "label"}})
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("serve-models")
    return {"multilabel": multilabel(base / "multilabel/models/model"),
            "transformer": transformer(base / "transformer/models/model")}


def project(folder: Path) -> Path:
    return folder.parents[1]


def mlkit_predict(folder: Path, texts: list[str]) -> list[str]:
    """The prediction column `mlkit predict` writes for `texts` (multilabel: the labels joined with |)."""
    pd.DataFrame({"text": texts}).to_csv(project(folder) / "in.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "mlkit", "predict", "in.csv", "--output", "out.csv", "--force"],
                          cwd=project(folder), env={**ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return list(pd.read_csv(project(folder) / "out.csv", keep_default_na=False)["prediction"])


def serving(folder: Path) -> Iterator[Server]:
    served = Server(project(folder), "--batch-window-ms", "20")
    yield served
    log = served.stop()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def multilabel_server(folders: dict[str, Path]) -> Iterator[Server]:
    yield from serving(folders["multilabel"])


@pytest.fixture(scope="module")
def transformer_server(folders: dict[str, Path]) -> Iterator[Server]:
    yield from serving(folders["transformer"])


def ask_at_once(url: str, requests: list[list[str]]) -> list[dict]:
    """Every request from its own client, all in flight together."""
    def ask(texts: list[str]) -> dict:
        with httpx.Client(base_url=url, timeout=120) as client:
            answer = client.post("/predict", json={"texts": texts})
            assert answer.status_code == 200, answer.text
            return answer.json()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(ask, requests))


def test_multilabel_answers_a_list_of_labels_per_text_in_input_order(multilabel_server: Server,
                                                                     folders: dict[str, Path]) -> None:
    texts = ["new xword zword", "nothing at all", "a yword", "xword yword zword", "zword"]
    expected = [["x", "z"], [], ["y"], ["x", "y", "z"], ["z"]]
    assert mlkit_predict(folders["multilabel"], texts) == [PREDICTION_SEPARATOR.join(e) for e in expected]
    answer = multilabel_server.client.post("/predict", json={"texts": texts})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["labels"] == expected
    assert all(set(s) == set(TAGS) for s in body["scores"])
    meta = multilabel_server.client.get("/metadata").json()
    assert (meta["task"], meta["labels"], meta["backend"]) == ("multilabel", TAGS, "sklearn")

    requests = [[f"r{i} " + " ".join(f"{t}word" for t in row)] * (1 + i % 3) for i, row in enumerate(expected * 4)]
    for i, answer in enumerate(ask_at_once(multilabel_server.url, requests)):
        assert answer["labels"] == [expected[i % 5]] * len(requests[i]), (i, answer)


def test_a_fine_tuned_transformer_answers_as_mlkit_predict_in_input_order(transformer_server: Server,
                                                                          folders: dict[str, Path]) -> None:
    texts = ["I am so happy and glad", "sad and lonely tonight", "furious and angry now", "glad", "angry",
             "lonely", "a plain sentence about nothing"]
    expected = mlkit_predict(folders["transformer"], texts)
    answer = transformer_server.client.post("/predict", json={"texts": texts})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["labels"] == expected
    assert [max(s, key=s.get) for s in body["scores"]] == expected
    assert all(sum(s.values()) == pytest.approx(1, abs=1e-4) for s in body["scores"])  # probabilities
    assert transformer_server.client.get("/metadata").json()["backend"] == "transformer"

    # Batched with other clients' texts (padded to other lengths), each client still gets its own rows back.
    requests = [texts[i % 7:] + texts[:i % 7] for i in range(12)]
    alone = {t: (label, scores) for t, label, scores in zip(texts, body["labels"], body["scores"])}
    for request, answer in zip(requests, ask_at_once(transformer_server.url, requests)):
        assert answer["labels"] == [alone[t][0] for t in request]
        for text, scores in zip(request, answer["scores"]):
            assert scores == pytest.approx(alone[text][1], abs=1e-4), text


def passes(model: Model) -> list[int]:
    """A list that grows by one each time `model` reads rows: a transformer's forward pass (torch's hook), a
    scikit-learn estimator's predict, decision function or probabilities (the kernel or the trees: the cost)."""
    calls: list[int] = []
    if model.backend == "transformer":
        model.model.register_forward_hook(lambda *_: calls.append(1))  # type: ignore[attr-defined]
        return calls
    estimator = model.pipeline.steps[-1][1]  # type: ignore[attr-defined]
    for name in ("predict", "decision_function", "predict_proba"):
        if hasattr(estimator, name):
            method = getattr(estimator, name)
            setattr(estimator, name, lambda x, _method=method: calls.append(1) or _method(x))
    return calls


@pytest.mark.parametrize("kind", ["multilabel", "transformer", "multiclass"])
def test_a_request_costs_one_pass_of_the_model(kind: str, folders: dict[str, Path], tmp_path: Path) -> None:
    folder = multiclass(tmp_path / "models/model") if kind == "multiclass" else folders[kind]
    served = ServedModel.load(folder, Origin(str(folder)))
    frame = served.frame(["xword happy", "sad yword", "says bword", "nothing"])
    calls = passes(served.model)
    scores = served.model.scores(frame)
    assert len(calls) == 1  # what one pass counts
    labels, scored = served.run(frame)
    assert len(calls) == 2, "labels and scores took more than one pass of the model"
    assert labels == served.model.predict(frame)
    assert np.allclose([list(s.values()) for s in scored], scores, atol=1e-5)
