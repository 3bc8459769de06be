"""data.streaming through the stages (python -m stages.NAME in a workspace): the same labels, no text in two
splits, test metrics close to the in-memory path on the same data, memory that does not follow the rows, and
a setting streaming cannot run refused in one line before any work."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlkit.core.batches import TableWriter
from mlkit.core.params import SplitParams, load_params
from mlkit.core.table import dedupe_key
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.data.split import split_frame
from mlkit.modeling.metrics import classification_metrics
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline
from mlkit.testing import ENV, ROOT
from mlkit.testing.project import stage, workspace

STREAMING = {"data": {"streaming": True, "limit": None}, "features": {"hashing": 2**18, "min_df": 1},
             "model": {"type": "sgd"}, "split": {"stratify": False}}
STAGES = ("fetch", "split", "augment", "train", "evaluate")
# Test macro F1 of the streamed path against the in-memory path (stratified split, whole-table SGD fit) on the
# same 6,000 texts: the two test splits differ, so about two standard errors of a 900-row test split apart.
F1_TOLERANCE = 0.04


def rows_csv(count: int, seed: int = 3) -> str:
    """Texts with a class word one time in four among 400 common words; 1 in 50 repeated in upper case."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["calm", "alert", "urgent"], size=count, p=[0.5, 0.3, 0.2])
    lines = []
    for i, label in enumerate(labels):
        words = [f"w{j}" for j in rng.integers(0, 400, size=12)] + [f"{label}{j}" for j in rng.integers(0, 30, 4)]
        text = " ".join(rng.permutation(words))
        lines.append(f"{text},{label}")
        if i % 50 == 0:
            lines.append(f"{text.upper()},{label}")
    return "text,label\n" + "\n".join(lines) + "\n"


def run_stages(folder: Path) -> None:
    for name in STAGES:
        done = stage(folder, name)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"


def test_streamed_stages_match_the_in_memory_path(tmp_path) -> None:
    folder = workspace(tmp_path, rows_csv(6000), **STREAMING)
    run_stages(folder)
    card = json.loads((folder / "metrics/data_card.json").read_text())
    model_card = json.loads((folder / "models/model/card.json").read_text())
    assert model_card["labels"] == card["labels"] == ["alert", "calm", "urgent"]
    assert model_card["params"]["model"]["type"] == "sgd"
    parts = {name: pd.read_parquet(folder / f"data/split/{name}.parquet") for name in ("train", "valid", "test")}
    assert sum(map(len, parts.values())) == card["rows"]
    keys = [set(dedupe_key(part["text"].astype(str))) for part in parts.values()]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    predictions = pd.read_csv(folder / "metrics/eval/predictions.csv")
    assert set(predictions["prediction"]) <= set(card["labels"]) and len(predictions) == len(parts["test"])
    streamed = json.loads((folder / "metrics/eval/scores.json").read_text())

    # The in-memory path on the same file, in this process: fetch, a stratified split, a whole-table fit.
    params = load_params(folder / "params.yaml")
    raw, _ = build_dataset([read_source(params.data.sources[0].model_copy(
        update={"path": str(folder / "data/sources/t.csv")}))], params.data)
    split = split_frame(raw, SplitParams())
    model = SklearnModel(build_pipeline(params.features, params.model, "multiclass", True), "multiclass",
                         card["labels"])
    model.fit(split["train"])
    test = classification_metrics(split["test"]["label"].tolist(), model.predict(split["test"]), "multiclass",
                                  card["labels"], None)
    assert streamed["test"]["f1_macro"] == pytest.approx(test["f1_macro"], abs=F1_TOLERANCE)
    assert streamed["test"]["f1_macro"] > 0.8


@pytest.mark.parametrize(("change", "expected"), [
    ({"model": {"type": "linear_svc"}}, "model.type: 'linear_svc' fits the whole table at once"),
    ({"features": {"hashing": None, "min_df": 2}}, "features.hashing: null builds a vocabulary"),
    ({"split": {"stratify": True}}, "split.stratify: true needs the whole table"),
])
def test_a_setting_streaming_cannot_run_is_refused_in_one_line(tmp_path, change, expected) -> None:
    sections = {name: {**values, **change.get(name, {})} for name, values in STREAMING.items()}
    folder = workspace(tmp_path, rows_csv(60), **sections)
    done = stage(folder, "fetch")
    assert done.returncode == 1 and not (folder / "data/raw.parquet").exists()
    assert done.stderr.startswith("error: params.yaml: ") and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# A stage's peak resident memory in a process of its own (RUSAGE_CHILDREN of a wrapper that runs only it), with
# batches of SMALL_BATCH rows, so that N and 4N rows are both many batches and the test stays quick.
PEAK = ("import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
        "sys.exit(done.returncode)\n")
SMALL_BATCH = 4096
RUN = ("import runpy, sys, mlkit.core.batches as b; b.BATCH_ROWS = {batch}; "
       "runpy.run_module('stages.' + sys.argv[1], run_name=sys.argv[2], alter_sys=True)")


def peak(folder: Path, name: str, imports_only: bool = False) -> int:
    """Peak bytes of stage `name` (or of importing it only: the interpreter and libraries)."""
    command = [sys.executable, "-c", RUN.format(batch=SMALL_BATCH), name, "imported" if imports_only else "__main__"]
    done = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=folder, env={**ENV, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def raw_table(folder: Path, rows: int) -> None:
    """data/raw.parquet and its data card as fetch writes them: `rows` generated texts of 20 words."""
    rng = np.random.default_rng(rows)
    labels = np.array(["alert", "calm", "urgent"])
    (folder / "data").mkdir(exist_ok=True)
    (folder / "metrics").mkdir(exist_ok=True)
    with TableWriter(folder / "data/raw.parquet") as writer:
        for start in range(0, rows, 10_000):
            size = min(10_000, rows - start)
            words = rng.integers(0, 5000, size=(size, 20)).astype(str)
            texts = [" ".join(row) + f" n{start + i}" for i, row in enumerate(words)]
            writer.write(pd.DataFrame({"id": [f"{start + i:016x}" for i in range(size)], "text": texts,
                                       "label": labels[rng.integers(0, 3, size)], "source": "s"}))
    card = {"task": "multiclass", "labels": labels.tolist(), "positive_label": None, "columns": None,
            "label_map": {}, "rows": rows}
    (folder / "metrics/data_card.json").write_text(json.dumps(card))


ROWS = 20_000  # train: about 3 batches of SMALL_BATCH at N, 14 at 4N


def test_peak_memory_of_split_and_train_does_not_follow_the_rows(tmp_path) -> None:
    """From N to 4N rows, what split and train hold beyond their imports grows far less than the rows: one
    batch at a time (the whole table in memory grows it about 2x to 4x)."""
    grown: dict[int, dict[str, int]] = {}
    for rows in (ROWS, 4 * ROWS):
        (tmp_path / str(rows)).mkdir()
        folder = workspace(tmp_path / str(rows), None, **STREAMING)
        raw_table(folder, rows)
        grown[rows] = {"split": peak(folder, "split")}
        (folder / "data/augmented").mkdir(parents=True)
        shutil.copyfile(folder / "data/split/train.parquet", folder / "data/augmented/train.parquet")  # as augment
        grown[rows]["train"] = peak(folder, "train")
    for name in ("split", "train"):
        base = peak(tmp_path / str(ROWS), name, imports_only=True)
        ratio = (grown[4 * ROWS][name] - base) / max(grown[ROWS][name] - base, 2**20)
        print(f"{name}: {grown[ROWS][name] / 2**20:.0f} -> {grown[4 * ROWS][name] / 2**20:.0f} MiB "
              f"(imports {base / 2**20:.0f} MiB): x{ratio:.2f} beyond the imports for x4 rows")
        assert ratio < 1.5, (name, grown, base)
