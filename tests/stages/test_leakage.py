"""No leakage, checked on what the real pipeline wrote: the model learnt from the train split alone, augment
refused copies of held-out texts, no text stands in two splits. And a binary task end to end under DVC.

One `dvc repro` on 800 Disaster Tweets (binary, LinearSVC, asr_noise augmentation); every check reads the
files the stages wrote, never the stages' own counters.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlkit.data.augment import asr_noise
from mlkit.modeling.base import load_model
from mlkit.testing import ROOT, Project, copy_project, dataset

PLANTED = 60  # texts added beside their own speech-transcript form: some pairs straddle train and held-out


def tweets_file(folder: Path) -> Path:
    """800 rows of Disaster Tweets: 740 sampled, plus the asr_noise form (no typos, no dropped words) of 60 of
    them, so that augmenting a train text can produce a text that stands in valid or test."""
    frame = pd.read_csv(dataset("disaster_tweets/train.csv"), dtype=str, keep_default_na=False)[["text", "target"]]
    sample = frame.sample(n=740, random_state=0).reset_index(drop=True)
    planted = sample.head(PLANTED).assign(text=lambda f: [asr_noise(t, random.Random(0), 0, 0) for t in f["text"]])
    path = folder / "tweets.csv"
    pd.concat([sample, planted], ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("leakage")
    project = copy_project(root / "project")
    params = yaml.safe_load((ROOT / "presets" / "disaster_tweets.yaml").read_text())
    params["data"].update(sources=[{"kind": "file", "path": project.source(tweets_file(root)),
                                    "text_column": "text", "label_column": "target"}], limit=None)
    params["augment"].update(methods=["asr_noise"], asr_noise={"typo_rate": 0.0, "drop_rate": 0.0, "copies": 1})
    params["model"].update(type="linear_svc")
    (project.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    project.declare_sources()  # as `mlkit import` does
    project.commit("binary project")
    project.dvc("repro")
    return project


def table(project: Project, relative: str) -> pd.DataFrame:
    return pd.read_parquet(project.file(relative))


def keys(texts: pd.Series) -> set[str]:
    """Texts as fetch compares them: case ignored, spacing normalised."""
    return {" ".join(t.split()).casefold() for t in texts}


def test_no_text_stands_in_two_split_files(binary: Project) -> None:
    """Computed from the parquet files, not from the split stage's own check or metrics/split.json."""
    parts = {name: table(binary, f"data/split/{name}.parquet") for name in ("train", "valid", "test")}
    texts = {name: keys(part["text"]) for name, part in parts.items()}
    assert all(len(texts[name]) == len(part) for name, part in parts.items())  # no text twice inside a split either
    assert not texts["train"] & texts["valid"] and not texts["train"] & texts["test"] and not texts["valid"] & texts["test"]
    assert not set(parts["train"]["id"]) & (set(parts["valid"]["id"]) | set(parts["test"]["id"]))
    assert sum(map(len, parts.values())) == len(table(binary, "data/raw.parquet"))


def test_model_card_names_exactly_the_augmented_train_set(binary: Project) -> None:
    """The model was fitted on data/augmented/train.parquet and nothing else: its rows and its bytes."""
    card = json.loads(binary.file("models/model/card.json").read_text())
    train_file = binary.file("data/augmented/train.parquet")
    train = pd.read_parquet(train_file)
    assert card["train_data"]["rows"] == len(train)
    assert card["train_data"]["md5"] == hashlib.md5(train_file.read_bytes()).hexdigest()
    split_train = table(binary, "data/split/train.parquet")
    original = train[train["method"] == "original"]
    assert sorted(original["id"]) == sorted(split_train["id"])  # every train row, and only those, plus variants
    assert train.loc[train["method"] != "original", "origin_id"].isin(split_train["id"]).all()


def test_tfidf_vocabulary_comes_from_train_texts_only(binary: Project) -> None:
    """A word seen only in valid or test (in at least min_df of their texts) is not in the fitted vocabulary."""
    model = load_model(binary.file("models/model"))
    words = dict(model.pipeline.named_steps["features"].transformer_list)["word"]
    analyse = words.build_analyzer()
    train_words = {w for text in table(binary, "data/augmented/train.parquet")["text"] for w in analyse(text)}
    held_out = pd.concat([table(binary, f"data/split/{name}.parquet")["text"] for name in ("valid", "test")])
    counts = Counter(w for text in held_out for w in set(analyse(text)))
    only_held_out = {w for w, n in counts.items() if n >= words.min_df and w not in train_words}
    assert len(only_held_out) >= 5, only_held_out  # fitting on valid or test would have added these
    assert not only_held_out & set(words.vocabulary_)
    assert set(words.vocabulary_) <= train_words


def test_augment_saw_the_real_held_out_texts_and_copied_none(binary: Project) -> None:
    augmented = table(binary, "data/augmented/train.parquet")
    held_out = keys(pd.concat([table(binary, f"data/split/{name}.parquet")["text"] for name in ("valid", "test")]))
    train = table(binary, "data/split/train.parquet")
    # The planted pairs make the check bite: some train texts' asr_noise form is a valid or test text ...
    would_copy = {asr_noise(t, random.Random(0), 0, 0) for t in train["text"]} & held_out
    assert would_copy
    # ... and none of those, nor any other held-out text, is among the augmented rows.
    new = augmented[augmented["method"] != "original"]
    assert len(new) > 0.8 * len(train)
    assert not keys(new["text"]) & held_out
    card = json.loads(binary.file("metrics/augment.json").read_text())
    assert card["refused"]["equal to a valid or test text"] >= len(would_copy)


def test_binary_task_reports_the_positive_class_f1(binary: Project) -> None:
    """evaluate's binary path: `f1` is the F1 of data.positive_label, beside macro and weighted F1."""
    metrics = json.loads(binary.file("metrics/eval/scores.json").read_text())
    per_class = json.loads(binary.file("metrics/eval/per_class.json").read_text())
    for split in ("train", "valid", "test"):
        scores, classes = metrics[split], per_class[split]["per_class"]
        assert set(classes) == {"disaster", "no_disaster"}
        assert scores["f1"] == pytest.approx(classes["disaster"]["f1"])
        assert {"accuracy", "f1_macro", "f1_weighted"} <= scores.keys()
    test, classes = metrics["test"], per_class["test"]["per_class"]
    assert test["f1"] != pytest.approx(classes["no_disaster"]["f1"])  # the positive class, not another
    assert test["f1_macro"] == pytest.approx((test["f1"] + classes["no_disaster"]["f1"]) / 2)
    assert 0.6 < metrics["test"]["f1"] < 1 and metrics["gap"]["f1"] == metrics["train"]["f1"] - metrics["test"]["f1"]
    assert binary.file("metrics/eval/plots/sklearn/roc.json").is_file()
    compared = json.loads(binary.file("metrics/compare.json").read_text())
    assert compared["metric"] == "test.f1" and compared["new"] == metrics["test"]["f1"]
    predictions = pd.read_csv(binary.file("metrics/eval/predictions.csv"), dtype=str, keep_default_na=False)
    assert len(predictions) == len(table(binary, "data/split/test.parquet"))
    assert set(predictions["prediction"]) <= {"disaster", "no_disaster"}
