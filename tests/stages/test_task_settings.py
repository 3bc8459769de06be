"""Settings that depend on the task (known once fetch has read the data) are checked by fetch, before any
training: one `error:` line naming the key and the allowed values, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlkit.testing import BINARY, MULTICLASS, stage, workspace

# A binary pair with no obvious positive class (not 0/1, false/true, ...).
NAMED_PAIR = BINARY.replace(",0\n", ",other\n").replace(",1\n", ",disaster\n")


def refused(folder: Path, name: str, expected: str) -> None:
    result = stage(folder, name)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: "), result.stderr
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize(("rows", "sections", "expected"), [
    (MULTICLASS, {"data": {"positive_label": "disaster"}},  # left over from the disaster_tweets preset
     "data.positive_label: 'disaster' applies only to a binary task; this one is multiclass (3 labels); allowed: null"),
    (BINARY, {"data": {"positive_label": "disaster"}},
     "data.positive_label: 'disaster' is not a label of this binary task; allowed: 0, 1 or null"),
    (NAMED_PAIR, {"compare": {"metric": "f1"}},
     "compare.metric: 'f1' is the F1 of data.positive_label, which this binary task does not set"),
    (MULTICLASS, {"compare": {"metric": "f1"}},
     "compare.metric: 'f1' does not apply to a multiclass task; allowed: accuracy, f1_macro, f1_weighted"),
    (BINARY, {"compare": {"metric": "f1_micro"}},
     "compare.metric: 'f1_micro' does not apply to a binary task; allowed: accuracy, f1_macro, f1_weighted, f1"),
])
def test_fetch_refuses_a_setting_the_task_does_not_have(tmp_path: Path, rows: str, sections: dict,
                                                         expected: str) -> None:
    folder = workspace(tmp_path, rows, **sections)
    refused(folder, "fetch", expected)
    assert not (folder / "data/raw.parquet").exists() and not (folder / "metrics/data_card.json").exists()


def test_fetch_refuses_text_settings_on_numeric_features(tmp_path: Path) -> None:
    folder = workspace(tmp_path, None, model={"type": "transformer"}, augment={"methods": ["emoji"]})
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["data"] = {"sources": [{"kind": "digits"}]}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    refused(folder, "fetch", "model.type: 'transformer' needs text, and this data is numeric features; "
                             "allowed: svc, linear_svc, logreg, random_forest, sgd; augment.methods: ['emoji'] needs text")


def test_train_refuses_before_training_when_only_compare_metric_changed(tmp_path: Path) -> None:
    # `dvc exp run -S compare.metric=f1` with other changes: fetch does not rerun, train checks again.
    folder = workspace(tmp_path, MULTICLASS, features={"min_df": 1})
    for name in ("fetch", "split", "augment"):
        assert stage(folder, name).returncode == 0
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["compare"]["metric"] = "f1"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    refused(folder, "train", "compare.metric: 'f1' does not apply to a multiclass task")
    assert not (folder / "models/model").exists()


def test_a_binary_pair_without_a_positive_class_is_scored_without_f1(tmp_path: Path) -> None:
    # disaster/other: no obvious positive, none named; every stage runs, curves one-vs-rest, no `f1` to misread.
    folder = workspace(tmp_path, NAMED_PAIR, features={"min_df": 1})
    for name in ("fetch", "split", "augment", "train", "evaluate"):
        result = stage(folder, name)
        assert result.returncode == 0, result.stderr
    assert json.loads((folder / "metrics/data_card.json").read_text())["positive_label"] is None
    test = json.loads((folder / "metrics/eval/scores.json").read_text())["test"]
    assert "f1" not in test and {"accuracy", "f1_macro", "f1_weighted"} <= set(test)
    assert (folder / "metrics/eval/plots").is_dir()
