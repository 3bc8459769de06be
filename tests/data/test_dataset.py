"""Cleaning and the data card: one row per text, conflicts settled by policy, labels checked."""

from __future__ import annotations

import pandas as pd
import pytest

from mlkit.core.errors import PipelineError
from mlkit.core.params import DataParams, FileSource
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.testing import dataset

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)


def table(rows: list[tuple[str, str]], source: str = "s") -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["text", "label"])
    return frame.assign(row=range(len(frame)), source=source)


def params(**values) -> DataParams:
    return DataParams(sources=[{"kind": "digits"}], **values)


def test_whitespace_empty_and_duplicates() -> None:
    rows = [("  a  good\n day ", "joy"), ("a good day", "joy"), ("A GOOD  DAY", "joy"), ("   ", "joy"),
            ("a bad day", "sadness")]
    data, card = build_dataset([table(rows)], params())
    assert data["text"].tolist() == ["a good day", "a bad day"]
    assert card["dropped"] == {"empty text": 1, "duplicate text": 2}
    assert card["task"] == "binary" and card["rows"] == 2


@pytest.mark.parametrize(("policy", "texts", "dropped"), [
    ("drop", ["calm", "quake"], {"conflicting labels": 3}),
    ("majority", ["calm", "quake", "storm"], {"conflicting labels, outvoted or duplicate": 2}),
])
def test_conflicting_labels_follow_the_policy(policy: str, texts: list[str], dropped: dict) -> None:
    rows = [("storm", "disaster"), ("storm", "disaster"), ("storm", "calm"), ("calm", "calm"), ("quake", "disaster")]
    data, card = build_dataset([table(rows)], params(conflicts=policy))
    assert sorted(data["text"]) == sorted(texts)
    assert card["dropped"] == dropped
    if policy == "majority":
        assert data.set_index("text").loc["storm", "label"] == "disaster"


def test_disaster_tweets_conflicts_are_dropped_and_counted() -> None:
    raw = read_source(FileSource(kind="file", path=str(dataset("disaster_tweets/train.csv")), label_column="target"))
    data, card = build_dataset([raw], params(label_map={"0": "calm", "1": "disaster"}, positive_label="disaster"))
    assert card["dropped"]["conflicting labels"] > 0
    assert not data["text"].str.casefold().duplicated().any()
    assert card["rows"] + sum(card["dropped"].values()) == 7613
    assert card["positive_label"] == "disaster" and card["labels"] == ["calm", "disaster"]


@pytest.mark.parametrize(("labels", "expected"), [
    (["0", "1"], "1"), (["-1", "1"], "1"), (["False", "True"], "True"), (["no", "yes"], "yes"),
    (["disaster", "other"], None),  # no obvious positive: the last label would score `other`'s F1 as `f1`
])
def test_a_binary_tasks_positive_label_is_never_a_guess(labels: list[str], expected: str | None) -> None:
    rows = [(f"text {i}", labels[i % 2]) for i in range(10)]
    assert build_dataset([table(rows)], params())[1]["positive_label"] == expected
    named = build_dataset([table(rows)], params(positive_label=labels[0]))[1]
    assert named["positive_label"] == labels[0]


def test_label_map_merges_and_drop_labels_filters() -> None:
    rows = [("a", "love"), ("b", "joy"), ("c", "fear"), ("d", "anger")]
    data, card = build_dataset([table(rows)], params(label_map={"love": "joy"}, drop_labels=["anger"]))
    assert card["rows_per_label"] == {"fear": 1, "joy": 2}
    assert card["dropped"] == {"label in data.drop_labels": 1}


def test_label_outside_the_declared_set_stops_fetch() -> None:
    rows = [("a", "joy"), ("b", "sadness"), ("c", "boredom")]
    with pytest.raises(PipelineError, match=r"source 's' row 2: label 'boredom' is not in data.labels \(joy, sadness\)"):
        build_dataset([table(rows)], params(labels=["joy", "sadness"]))


def test_labels_differing_only_in_case_or_spacing_are_refused_until_params_decide() -> None:
    rows = [("a", "pos"), ("b", "Pos"), ("c", "neg"), ("d", "very  bad"), ("e", "Very bad")]
    with pytest.raises(PipelineError, match=r"labels 'Pos' and 'pos' differ only in case or spacing "
                                            r"\(source 's' row 0 has 'pos'\); one class: data.label_map: \{pos: Pos\}"):
        build_dataset([table(rows)], params())
    merged = build_dataset([table(rows)], params(label_map={"pos": "Pos", "very  bad": "Very bad"}))[1]
    assert merged["rows_per_label"] == {"Pos": 2, "Very bad": 2, "neg": 1}
    apart = build_dataset([table(rows)], params(labels=["pos", "Pos", "neg", "very  bad", "Very bad"]))[1]
    assert apart["labels"] == ["pos", "Pos", "neg", "very  bad", "Very bad"]
    # three spellings: the label_map it suggests maps both others, so following it is enough
    three = [*rows, ("f", "POS")]
    with pytest.raises(PipelineError, match=r"labels 'POS' and 'Pos' and 'pos' .* data.label_map: \{Pos: POS, pos: POS\}"):
        build_dataset([table(three)], params(label_map={"very  bad": "Very bad"}))
    mapped = build_dataset([table(three)], params(label_map={"Pos": "POS", "pos": "POS", "very  bad": "Very bad"}))[1]
    assert mapped["rows_per_label"] == {"POS": 3, "Very bad": 2, "neg": 1}


def test_no_rows_left_says_why() -> None:
    with pytest.raises(PipelineError, match=r"data: no rows left after cleaning \(empty text: 2\)"):
        build_dataset([table([(" ", "a"), ("", "b")])], params())


def test_one_label_is_not_a_task() -> None:
    with pytest.raises(PipelineError, match="only 1 label"):
        build_dataset([table([("a", "x"), ("b", "x")])], params())


def test_declared_task_must_match_the_data() -> None:
    with pytest.raises(PipelineError, match=r"data.task: is 'binary' but the data is multiclass"):
        build_dataset([table([("a", "x"), ("b", "y"), ("c", "z")])], params(task="binary"))


def test_limit_keeps_a_seeded_sample_and_ids_are_stable() -> None:
    rows = [(f"text {i}", "ab"[i % 2]) for i in range(100)]
    first, card = build_dataset([table(rows)], params(limit=30))
    again, _ = build_dataset([table(rows)], params(limit=30))
    assert len(first) == 30 and card["dropped"] == {"over data.limit": 70}
    assert first["id"].tolist() == again["id"].tolist()
    assert first["id"].is_unique


def test_emotion_sources_pool_with_a_source_column() -> None:
    frames = [read_source(FileSource(kind="file", path=str(dataset(f"emotion/{n}.txt")))) for n in ("train", "val")]
    data, card = build_dataset(frames, params())
    assert card["rows_read"] == {"train": 16000, "val": 2000}
    assert card["dropped"]["duplicate text"] + card["dropped"].get("conflicting labels", 0) >= 31 + 5
    assert card["task"] == "multiclass" and len(card["labels"]) == 6


def test_missing_labels_are_dropped_and_counted_while_a_nan_text_stays(tmp_path) -> None:
    path = tmp_path / "sms.tsv"
    path.write_text("text\tlabel\nNaN\tham\nnull\tspam\nfree prize\tNaN\nhello\tnull\nbye\t\nthanks\t   \n"
                    "later\tNone\nsoon\tN/A\nwhy\tNA\n\nok\tham\n")
    raw = read_source(FileSource(kind="file", path=str(path)))
    data, card = build_dataset([raw], params())
    assert data[["text", "label"]].values.tolist() == [["NaN", "ham"], ["null", "spam"], ["ok", "ham"]]
    assert card["labels"] == ["ham", "spam"]
    assert card["dropped"] == {"blank line": 1, "missing label": 7}
    assert card["lines_read"] == card["rows_read"] == {"sms": 11}  # a blank line is a row read and dropped
    assert card["rows"] + sum(card["dropped"].values()) == 11


def test_a_missing_marker_named_in_params_is_a_label() -> None:
    rows = [("a", "NA"), ("b", "yes"), ("c", "none"), ("d", "NaN")]
    data, card = build_dataset([table(rows)], params(label_map={"NA": "not applicable"}))
    assert card["labels"] == ["none", "not applicable", "yes"]  # lowercase `none` was never a marker
    assert card["dropped"] == {"missing label": 1}


def test_quoted_csv_lines_exceed_its_rows_and_nothing_else_changes() -> None:
    raw = read_source(FileSource(kind="file", path=str(dataset("disaster_tweets/train.csv")), label_column="target"))
    _, card = build_dataset([raw], params())
    assert card["lines_read"] == {"train": 8561} and card["rows_read"] == {"train": 7613}
    assert "blank line" not in card["dropped"] and "missing label" not in card["dropped"]


def test_the_dataset_carries_no_reader_metadata(tmp_path) -> None:
    # frame.attrs would be written into raw.parquet's metadata and change its hash for the same rows.
    raw = read_source(FileSource(kind="file", path=str(dataset("emotion/val.txt"))))
    assert raw.attrs
    data, _ = build_dataset([raw], params())
    assert data.attrs == {}
