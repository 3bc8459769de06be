"""Fine-tuning MiniLM through real `dvc repro` on CPU: small slices, one epoch, short texts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlkit.core.params import DEFAULT_CHECKPOINT
from mlkit.modeling.base import load_model
from mlkit.modeling.hf_training import tune_thresholds
from mlkit.testing import ROOT, Project, copy_project, dataset

# Small and fast on 2 cores, yet enough steps for MiniLM to learn more than the majority class.
# A higher rate (4e-4, one epoch) collapsed to the majority class on CI's CPU while passing here.
FAST = {"epochs": 2, "batch_size": 16, "max_length": 48, "lr": 2e-4, "warmup_ratio": 0.1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The emotion_transformer preset on 900 rows of the emotion set, run once through `dvc repro`."""
    project = copy_project(tmp_path_factory.mktemp("hf") / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    project.set_params(
        data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")), "format": "lines",
                           "sep": ";"}], "limit": 900},
        model=FAST,
    )
    project.commit("transformer project")
    project.dvc("repro")
    return project


def test_fine_tune_beats_majority_and_reloads(trained: Project) -> None:
    metrics = json.loads(trained.file("metrics/eval/metrics.json").read_text())
    test = pd.read_parquet(trained.file("data/split/test.parquet"))
    majority = test["label"].value_counts(normalize=True).max()
    assert metrics["test"]["accuracy"] >= majority + 0.1, (metrics["test"], majority)

    folder = trained.file("models/model")
    assert {"model.safetensors", "config.json", "tokenizer.json", "card.json"} <= {p.name for p in folder.iterdir()}
    card = json.loads((folder / "card.json").read_text())
    assert card["backend"] == "transformer" and card["labels"] == json.loads(
        trained.file("metrics/data_card.json").read_text())["labels"]
    config = json.loads((folder / "config.json").read_text())
    assert sorted(config["label2id"]) == sorted(card["labels"])

    # Curves per epoch from DVCLiveCallback; timings only in the stage's log, never in a hashed output.
    curves = json.loads(trained.file("metrics/train/metrics.json").read_text())
    assert {"loss", "f1_macro", "accuracy"} <= curves["eval"].keys() and curves["epochs"] >= 1
    assert not [k for k in json.dumps(curves).split('"') if "runtime" in k or "per_second" in k or "seconds" in k]
    assert trained.file("metrics/train/plots/metrics/eval/loss.tsv").is_file()
    assert "metrics/train/metrics.json" in trained.dvc("metrics", "show", "--json").stdout
    trained.dvc("plots", "show", "-o", "plots_html")
    assert "eval/loss.tsv" in trained.file("plots_html/index.html").read_text()

    # The saved model reloads through the common loader and predicts the labels evaluate wrote.
    reload = (
        "import pandas as pd; from mlkit.modeling.base import load_model; m = load_model('models/model'); "
        "t = pd.read_parquet('data/split/test.parquet'); print('\\n'.join(m.predict(t)))"
    )
    again = trained.run(__import__("sys").executable, "-c", reload).stdout.split()
    written = pd.read_csv(trained.file("metrics/eval/predictions.csv"))["prediction"].tolist()
    assert again == written
    # Scored 37 rows at a time (tokens of one chunk in memory), each row's scores land on its own row.
    chunked = ("import numpy as np, pandas as pd, mlkit.modeling.transformer as t; "
               "from mlkit.modeling.base import load_model; m = load_model('models/model'); "
               "f = pd.read_parquet('data/split/test.parquet'); whole = m.scores(f); t.INFERENCE_CHUNK = 37; "
               "print(len(f) > 37 and np.allclose(m.scores(f), whole, atol=1e-5))")
    assert trained.run(__import__("sys").executable, "-c", chunked).stdout.strip() == "True"
    assert "Data and pipelines are up to date" in trained.dvc("repro").stdout


def test_fine_tuning_again_gives_the_same_model_and_predictions(trained: Project) -> None:
    """Seeded before the head is built, deterministic kernels: a second run on this machine is identical."""
    files = ["models/model/model.safetensors", "metrics/eval/predictions.csv", "metrics/train/metrics.json"]
    before = {f: trained.file(f).read_bytes() for f in files}
    lock = trained.file("dvc.lock").read_text()
    again = trained.dvc("repro", "-f", "train", "evaluate")
    assert "train: timings {" in again.stdout  # timings go to the log
    assert {f: trained.file(f).read_bytes() for f in files} == before
    assert trained.file("dvc.lock").read_text() == lock


def bad_train(project: Project, **model: object) -> str:
    """Run the train stage with these model params; it must fail in one line and keep the last model."""
    before = project.file("models/model/model.safetensors").read_bytes()
    saved = project.params()
    project.set_params(model=model)
    try:
        started = time.perf_counter()
        result = project.stage("train")
        seconds = time.perf_counter() - started
    finally:
        (project.path / "params.yaml").write_text(__import__("yaml").safe_dump(saved, sort_keys=False))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert project.file("models/model/model.safetensors").read_bytes() == before
    assert seconds < 30, f"took {seconds:.0f} s to fail"
    return lines[0]


def test_unknown_checkpoint_fails_once_and_fast(trained: Project) -> None:
    line = bad_train(trained, checkpoint="no-such-org/no-such-model-xyz")
    assert line.startswith("error: params.yaml: model.checkpoint: ") and "no-such-org/no-such-model-xyz" in line


def test_batch_size_zero(trained: Project) -> None:
    assert bad_train(trained, batch_size=0) == \
        "error: params.yaml: model.batch_size: Input should be greater than or equal to 1 (got 0)"


def test_learning_rate_zero(trained: Project) -> None:
    assert bad_train(trained, lr=0) == "error: params.yaml: model.lr: Input should be greater than 0 (got 0)"


def test_max_length_over_the_model_limit(trained: Project) -> None:
    assert bad_train(trained, max_length=4096) == (
        "error: params.yaml: model.max_length: 4096 is over the limit of sentence-transformers/all-MiniLM-L6-v2 "
        "(512 tokens)")


def test_labels_the_head_cannot_hold(trained: Project, tmp_path: Path) -> None:
    # A checkpoint already fine-tuned for two labels cannot take the six emotions.
    make = (
        "import sys; from mlkit.core.hub import resolve_checkpoint; "
        "from transformers import AutoModelForSequenceClassification as M, AutoTokenizer as T; "
        "src, _ = resolve_checkpoint('sentence-transformers/all-MiniLM-L6-v2', 'checkpoint'); "
        "M.from_pretrained(src, num_labels=2, id2label={0: 'negative', 1: 'positive'}).save_pretrained(sys.argv[1]); "
        "T.from_pretrained(src).save_pretrained(sys.argv[1])"
    )
    trained.run(__import__("sys").executable, "-c", make, str(tmp_path / "binary"))
    line = bad_train(trained, checkpoint=str(tmp_path / "binary"))
    assert line.startswith("error: params.yaml: model.checkpoint: the classification head of ")
    assert "holds 2 labels (negative, positive); the data has 6, 6 it cannot hold: sadness, joy" in line


def test_multilabel_russian_format(tmp_path: Path) -> None:
    labels = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    project = copy_project(tmp_path / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    project.set_params(
        data={"sources": [{"kind": "file", "path": project.source(dataset("ru_emotion_cryptonite/valid.csv")),
                           "label_columns": labels}], "labels": None, "limit": 300},
        model={**FAST, "max_length": 32, "class_weight": "balanced", "thresholds": "global"},
        compare={"metric": "f1_weighted"},
    )
    project.commit("multilabel")
    project.dvc("repro")
    card = json.loads(project.file("models/model/card.json").read_text())
    assert card["task"] == "multilabel" and len(card["thresholds"]) == 7
    assert len(set(card["thresholds"])) == 1 and 0 < card["thresholds"][0] < 1  # one cut for every label
    # The cut is tuned on valid, never on test. Test-only signal planted: every test text carries every label,
    # so a cut tuned there would fall; trained again, the model keeps the cut that valid gives.
    model = load_model(project.file("models/model"))
    valid = pd.read_parquet(project.file("data/split/valid.parquet"))
    assert card["thresholds"] == pytest.approx(
        tune_thresholds(model._probabilities(valid), np.asarray(model._targets(valid)), "global"))
    test = pd.read_parquet(project.file("data/split/test.parquet"))
    test["labels"] = [list(labels)] * len(test)
    test.to_parquet(project.file("data/split/test.parquet"), index=False)
    on_test = tune_thresholds(model._probabilities(test), np.asarray(model._targets(test)), "global")
    assert on_test != pytest.approx(card["thresholds"])  # a cut tuned on this test split would differ
    project.dvc("repro", "-f", "-s", "train")
    again = json.loads(project.file("models/model/card.json").read_text())
    assert again["thresholds"] == card["thresholds"]
    config = json.loads(project.file("models/model/config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    metrics = json.loads(project.file("metrics/eval/scores.json").read_text())
    per_class = json.loads(project.file("metrics/eval/per_class.json").read_text())
    assert "f1_micro" in metrics["test"] and len(per_class["test"]["per_class"]) == 7
    assert project.file("metrics/eval/plots/sklearn/roc.json").is_file()


def test_the_recipe_options_reach_the_model(tmp_path: Path) -> None:
    """freeze_layers keeps the embeddings and the first layers as the checkpoint has them; head_dropout goes
    into the saved config; max_length auto is measured on the train texts; cosine schedule, Adafactor and
    label smoothing (in the weighted loss too) train."""
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from mlkit.core.hub import resolve_checkpoint
    from mlkit.modeling.hf_training import covering_length

    project = copy_project(tmp_path / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    project.set_params(
        data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")), "format": "lines",
                           "sep": ";"}], "limit": 200},
        model={**FAST, "epochs": 1, "max_length": "auto", "patience": None, "freeze_layers": 4, "scheduler": "cosine",
               "optimizer": "adafactor", "label_smoothing": 0.1, "head_dropout": 0.3, "class_weight": "balanced"},
    )
    project.commit("recipe")
    project.dvc("repro", "train")

    assert json.loads(project.file("models/model/config.json").read_text())["classifier_dropout"] == 0.3
    folder = resolve_checkpoint(DEFAULT_CHECKPOINT, "checkpoint")[0]
    texts = pd.read_parquet(project.file("data/augmented/train.parquet"))["text"].tolist()
    covering = covering_length(AutoTokenizer.from_pretrained(folder)(texts)["input_ids"], 512)
    assert json.loads(project.file("models/model/card.json").read_text())["max_length"] == covering < 128
    base = load_file(str(Path(folder) / "model.safetensors"))
    tuned = {k.removeprefix("bert."): v for k, v in load_file(str(project.file("models/model/model.safetensors"))).items()}
    frozen = [k for k in base if k.startswith(("embeddings.", *(f"encoder.layer.{i}." for i in range(4))))]
    trained = [k for k in base if k.startswith(("encoder.layer.4.", "encoder.layer.5."))]
    assert len(frozen) == 6 + 4 * 16 and len(trained) == 2 * 16
    assert all((tuned[k] == base[k]).all() for k in frozen if k in tuned)
    assert sum(k in tuned for k in frozen) >= 4 * 16  # the layers are saved, unchanged
    assert all(not (tuned[k] == base[k]).all() for k in trained if "LayerNorm" not in k)


@pytest.mark.fast
def test_label_smoothing_on_a_multilabel_task_is_refused_before_any_work() -> None:
    from mlkit.core.errors import PipelineError
    from mlkit.core.params import check_for_data, validate

    raw = yaml.safe_load((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    raw["model"]["label_smoothing"] = 0.1
    with pytest.raises(PipelineError, match=r"model.label_smoothing: 0.1 smooths one label per text, and this task "
                                            r"is multilabel; allowed: 0"):
        check_for_data(validate(raw), "multilabel", None, True)
    check_for_data(validate(raw), "multiclass", None, True)  # single-label: allowed
