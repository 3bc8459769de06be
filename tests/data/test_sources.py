"""Sources: every format and kind reads into the same table; every failure names the file and column."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from mlkit.core.errors import PipelineError
from mlkit.core.params import (
    DigitsSource,
    EmbeddedSource,
    FileSource,
    HubSource,
    validate,
)
from mlkit.data import lines
from mlkit.data.sources import iter_source, read_source
from mlkit.testing import ENV, ROOT, dataset, stage, workspace

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)

ROWS = pd.DataFrame({"review": ["good film", "bad film", "fine film"], "stars": ["pos", "neg", "pos"]})


def file_source(path: Path, **options) -> FileSource:
    return FileSource(kind="file", path=str(path), text_column="review", label_column="stars", **options)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_each_table_format_reads_the_same_rows(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"reviews.{fmt}"
    if fmt == "csv":
        ROWS.to_csv(path, index=False)
    elif fmt == "tsv":
        ROWS.to_csv(path, sep="\t", index=False)
    elif fmt == "jsonl":
        ROWS.to_json(path, orient="records", lines=True)
    else:
        ROWS.to_parquet(path)
    frame = read_source(file_source(path))
    assert frame["text"].tolist() == ROWS["review"].tolist()
    assert frame["label"].tolist() == ROWS["stars"].tolist()
    assert set(frame["source"]) == {"reviews"}


def test_csv_without_header_uses_column_numbers(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("pos,good film\nneg,bad film\n")
    spec = FileSource(kind="file", path=str(path), header=False, text_column="1", label_column="0")
    assert read_source(spec)[["text", "label"]].values.tolist() == [["good film", "pos"], ["bad film", "neg"]]


def test_lines_format_splits_on_the_last_separator(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("i feel good; really;joy\ni am sad;sadness\n")
    frame = read_source(FileSource(kind="file", path=str(path)))
    assert frame[["text", "label"]].values.tolist() == [["i feel good; really", "joy"], ["i am sad", "sadness"]]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"nowhere.csv: no such file \(data.sources, kind: file\)"):
        read_source(file_source(tmp_path / "nowhere.csv"))


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    ROWS.to_csv(path, index=False)
    spec = FileSource(kind="file", path=str(path), text_column="body", label_column="stars")
    with pytest.raises(PipelineError, match=r"reviews.csv: no column 'body'; columns are: review, stars"):
        read_source(spec)


def test_several_text_columns_are_joined_in_order_and_empty_ones_left_out(tmp_path: Path) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text("id,keyword,text,target\n1,flood,river over the road,1\n2,,lovely day,0\n3, ,calm sea,0\n")
    spec = FileSource(kind="file", path=str(path), text_column=["keyword", "text"], text_column_delimiter=" | ",
                      label_column="target")
    frame = read_source(spec)
    assert frame["text"].tolist() == ["flood | river over the road", "lovely day", "calm sea"]
    assert frame["label"].tolist() == ["1", "0", "0"]
    with pytest.raises(PipelineError, match=r"tweets.csv: no column 'title'; columns are: id, keyword, text"):
        read_source(spec.model_copy(update={"text_column": ["title", "text"]}))


@pytest.mark.parametrize(("columns", "expected"), [([], "at least one column"), (["text", "text"], "twice"),
                                                    (["keyword", 3], "list of column names"), (5, "column name"),
                                                    (["text", "label"], "label is both a text column and a label")])
def test_text_columns_must_be_named_once(columns: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        FileSource(kind="file", path="t.csv", text_column=columns)


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.jsonl"])
def test_an_empty_file_is_named_as_empty(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("")
    with pytest.raises(PipelineError, match=rf"{name}: empty file \(no header, no rows\)"):
        read_source(file_source(tmp_path / name))


def test_malformed_csv_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('review,stars\n"good film,pos\nbad film,neg,extra,more\n')
    with pytest.raises(PipelineError, match=r"broken.csv: malformed csv file"):
        read_source(file_source(path))


def test_unknown_extension_asks_for_format(tmp_path: Path) -> None:
    path = tmp_path / "reviews.dat"
    path.write_text("x")
    with pytest.raises(PipelineError, match="set `format`"):
        read_source(file_source(path))


def test_multilabel_columns_become_label_lists(tmp_path: Path) -> None:
    path = tmp_path / "ml.csv"
    path.write_text("text,joy,fear\nhappy,1,0\nscared and happy,1,1\nnothing,0,0\n")
    frame = read_source(FileSource(kind="file", path=str(path), label_columns=["joy", "fear"]))
    assert frame["labels"].tolist() == [["joy"], ["joy", "fear"], []]


def test_multilabel_column_must_be_binary(tmp_path: Path) -> None:
    path = tmp_path / "ml.csv"
    path.write_text("text,joy,fear\nhappy,1,0\nscared,yes,1\n")
    with pytest.raises(PipelineError, match=r"ml.csv: label column 'joy' must hold 0/1 values \(found 'yes'\)"):
        read_source(FileSource(kind="file", path=str(path), label_columns=["joy", "fear"]))


def test_disaster_tweets_quoted_line_breaks_stay_in_their_text() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: the line breaks are inside well-formed quotes
        frame = read_source(FileSource(kind="file", path=str(dataset("disaster_tweets/train.csv")),
                                       label_column="target"))
    assert len(frame) == 7613
    assert frame["label"].value_counts().to_dict() == {"0": 4342, "1": 3271}
    assert frame.attrs["read"] == {"lines": 8561, "blank": 0}  # 948 more lines than rows, none swallowed
    assert frame["text"].str.contains("\n").sum() > 0


def test_russian_multilabel_set_reads_with_its_label_counts() -> None:
    labels = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    frame = read_source(FileSource(kind="file", path=str(dataset("ru_emotion_cryptonite/valid.csv")),
                                   label_columns=labels))
    assert len(frame) == 5426
    assert frame["labels"].map(len).value_counts().to_dict() == {1: 4946, 2: 468, 3: 12}
    assert sum("disgust" in ls for ls in frame["labels"]) == 97


def test_embedded_default_dataset_reads_offline() -> None:
    frame = read_source(EmbeddedSource(kind="embedded"))
    assert len(frame) == 38158
    assert frame["label"].value_counts().to_dict() == {"negative": 16186, "neutral": 15018, "positive": 6954}


def test_digits_have_features_not_text() -> None:
    frame = read_source(DigitsSource(kind="digits"))
    assert len(frame) == 1797 and "text" not in frame.columns
    assert len(frame["features"].iloc[0]) == 64


# ------------------------------------------------------------------ no silent row loss
# An SMS-style TSV (label<TAB>text, no header): the stray " on line 2 must not swallow lines 3-4.
STRAY_QUOTE_TSV = 'ham\t"see you at the pub\nspam\tWIN a prize now\nham\tok then, 5" tall\n\nham\tNaN\nspam\tcall now!\n'


def tsv_source(path: Path, **options) -> FileSource:
    return FileSource(kind="file", path=str(path), header=False, text_column="1", label_column="0", **options)


def test_tsv_with_an_unmatched_quote_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "sms.tsv"
    path.write_text(STRAY_QUOTE_TSV)
    frame = read_source(tsv_source(path))
    assert frame["text"].tolist() == ['"see you at the pub', "WIN a prize now", 'ok then, 5" tall', "NaN", "call now!"]
    assert frame["label"].tolist() == ["ham", "spam", "ham", "ham", "spam"]
    assert frame.attrs["read"] == {"lines": 6, "blank": 1}  # every physical line accounted for


def test_quote_true_restores_quote_processing_on_a_tsv(tmp_path: Path) -> None:
    path = tmp_path / "quoted.tsv"
    path.write_text('text\tlabel\n"a tab\tinside"\tpos\n"two\nlines"\tneg\nplain\tneg\n')
    frame = read_source(FileSource(kind="file", path=str(path), quote=True))
    assert frame["text"].tolist() == ["a tab\tinside", "two\nlines", "plain"]
    assert frame.attrs["read"] == {"lines": 4, "blank": 0}
    with pytest.raises(PipelineError, match=r"quoted.tsv: malformed tsv file: line 2 has 3 fields, the header has 2 "
                                            r"\(without quote processing\); if its texts are quoted, set `quote: true`"):
        read_source(FileSource(kind="file", path=str(path)))


@pytest.mark.parametrize(("line", "fields"), [("neg", "1 field"), ("neg\tbad film\textra", "3 fields")])
def test_ragged_tsv_row_names_the_file_and_line(tmp_path: Path, line: str, fields: str) -> None:
    path = tmp_path / "ragged.tsv"
    path.write_text(f"stars\treview\npos\tgood film\n{line}\npos\tfine film\n")
    with pytest.raises(PipelineError, match=rf"ragged.tsv: malformed tsv file: line 3 has {fields}, the header has 2"):
        read_source(file_source(path))


def test_csv_quote_that_swallows_lines_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "swallow.csv"
    path.write_text('review,stars\n"see you at the pub,pos\nwin a prize,neg\nok" then,pos\nlast,neg\n')
    with pytest.raises(PipelineError, match=r"swallow.csv: malformed csv file: line 2: a quoted field runs to line 4 "
                                            r"and closes in the middle of a field"):
        read_source(file_source(path))
    frame = read_source(file_source(path, quote=False))  # the file's quotes are text: every line a row
    assert len(frame) == 4 and frame["text"].iloc[2] == 'ok" then'


def test_quote_applies_to_csv_and_tsv_only(tmp_path: Path) -> None:
    assert source_error({"path": "data/sources/lines.txt", "quote": True}) == (
        "data.sources[0].quote: applies to csv and tsv files, not lines; remove it (got True)")
    path = tmp_path / "lines.dat"  # the schema cannot tell its format: the reader's own check
    path.write_text("good;pos\n")
    spec = FileSource(kind="file", path=str(path), quote=True).model_copy(update={"format": "lines"})
    with pytest.raises(PipelineError, match=r"lines.dat: `quote` applies to csv and tsv files, not lines"):
        read_source(spec)


@pytest.mark.parametrize("sep", ["::", "||", ".."])
def test_a_longer_separator_reads_without_quotes_and_literally(tmp_path: Path, sep: str) -> None:
    # pandas takes a longer sep as a regular expression: `||` would split between every character
    path = tmp_path / "double.csv"
    path.write_text(f'review{sep}stars\n"good" film. ok{sep}pos\nbad | film{sep}neg\n')
    frame = read_source(file_source(path, sep=sep, quote=False))
    assert frame[["text", "label"]].values.tolist() == [['"good" film. ok', "pos"], ["bad | film", "neg"]]
    assert frame.attrs["read"] == {"lines": 2, "blank": 0}
    assert source_error({"path": "data/sources/double.csv", "sep": sep}) == (
        f"data.sources[0].sep: quote processing splits on one character only; for a longer sep, set "
        f"`quote: false` (got '{sep}')")


def test_lines_format_breaks_lines_only_at_line_ends(tmp_path: Path) -> None:
    # str.splitlines() also breaks at U+2028 and form feeds, which would cut a text in two.
    path = tmp_path / "lines.txt"
    path.write_text("a text\u2028with a separator\x0cinside;joy\n\n  \nsad;sadness\n", encoding="utf-8")
    frame = read_source(FileSource(kind="file", path=str(path)))
    assert frame["text"].tolist() == ["a text\u2028with a separator\x0cinside", "sad"]
    assert frame.attrs["read"] == {"lines": 4, "blank": 2}


def test_bad_tsv_stops_fetch_with_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.tsv"
    path.write_text("text\tlabel\ngood\tpos\nbad\n")
    code = ("from mlkit.core.errors import run_main\nfrom mlkit.core.params import FileSource\n"
            "from mlkit.data.sources import read_source\n"
            f"run_main(lambda: read_source(FileSource(kind='file', path={str(path)!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {path}: malformed tsv file: line 3 has 1 field, the header has 2 (without quote processing)"]


# ------------------------------------------------------------------ bad option values: the schema names the key
def source_error(source: dict) -> str:
    """The one-line error params.yaml gets for a data source, less the file name."""
    with pytest.raises(PipelineError) as caught:
        validate({"data": {"sources": [{"kind": "file", **source}]}}, "params.yaml")
    return str(caught.value).removeprefix("params.yaml: ")


ENCODINGS = "use one Python knows, such as utf-8, latin-1 or cp1252"


@pytest.mark.parametrize(("encoding", "expected"), [
    ("nonsense-enc", f"unknown encoding; {ENCODINGS} (got 'nonsense-enc')"),
    ("utf-99", f"unknown encoding; {ENCODINGS} (got 'utf-99')"),
    ("", f"unknown encoding; {ENCODINGS} (got '')"),
    ("rot13", f"not a text encoding; {ENCODINGS} (got 'rot13')"),  # a codec, but not for text
    ("base64", f"not a text encoding; {ENCODINGS} (got 'base64')"),
])
def test_an_unknown_encoding_is_refused_by_the_schema(encoding: str, expected: str) -> None:
    assert source_error({"path": "data/sources/t.csv", "encoding": encoding}) == f"data.sources[0].encoding: {expected}"


@pytest.mark.parametrize("encoding", ["UTF8", "utf_8", "Latin-1", "cp1252", "utf-16"])
def test_every_spelling_python_knows_is_an_encoding(encoding: str) -> None:
    validate({"data": {"sources": [{"kind": "file", "path": "data/sources/t.csv", "encoding": encoding}]}})


def test_fetch_with_an_unknown_encoding_is_one_error_line(tmp_path: Path) -> None:
    source = {"kind": "file", "path": "data/sources/t.csv", "encoding": "nonsense-enc"}
    folder = workspace(tmp_path, "text,label\ngood,pos\n", data={"sources": [source]})
    done = stage(folder, "fetch")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: params.yaml: data.sources[0].encoding: unknown encoding; {ENCODINGS} (got 'nonsense-enc')"]
    assert not (folder / "data/raw.parquet").exists()


@pytest.mark.parametrize(("source", "expected"), [
    ({"path": "data/sources/t.csv", "sep": ""}, "sep: empty; leave it out for the format's default (got '')"),
    ({"path": "data/sources/t.txt", "sep": ""}, "sep: empty; leave it out for the format's default (got '')"),
    ({"path": "data/sources/t.csv", "sep": "\n"}, "sep: cannot hold a line break: a line break ends a row (got '\\n')"),
    ({"path": "data/sources/t.txt", "sep": "\r"}, "sep: cannot hold a line break: a line break ends a row (got '\\r')"),
    ({"path": "data/sources/t.jsonl", "sep": ";"},
     "sep: applies to csv, tsv and lines files, not jsonl; remove it (got ';')"),
    ({"path": "data/sources/t.data", "format": "parquet", "sep": ","},
     "sep: applies to csv, tsv and lines files, not parquet; remove it (got ',')"),
    ({"path": "data/sources/t.csv", "sep": '"'},
     "sep: is the quote character, which cannot also separate fields; set `quote: false` (got '\"')"),
    ({"path": "data/sources/t.tsv", "sep": "::", "quote": True},
     "sep: quote processing splits on one character only; for a longer sep, set `quote: false` (got '::')"),
    ({"path": "data/sources/t.txt", "text_column": "body"},
     "text_column: a lines file has no named columns: each line is text;label; remove it (got 'body')"),
    ({"path": "data/sources/t.dat", "format": "lines", "sep": "|", "label_column": "y"},
     "label_column: a lines file has no named columns: each line is text|label; remove it (got 'y')"),
    ({"path": "data/sources/t.txt", "label_columns": ["joy"]},
     "label_columns: a lines file has no named columns: each line is text;label; remove it (got ['joy'])"),
    ({"path": "data/sources/t.csv", "text_column": ""}, "text_column: an empty column name (got '')"),
    ({"path": "data/sources/t.csv", "text_column": ["title", ""]}, "text_column: an empty column name (got ['title', ''])"),
    ({"path": "data/sources/t.csv", "label_column": ""},
     "label_column: an empty column name; for multilabel, label_columns: [...] (got '')"),
    ({"path": "data/sources/t.csv", "label_column": None},
     "label_column: every row needs a label: name its column, or label_columns for multilabel (got null)"),
    ({"path": "data/sources/t.csv", "label_columns": ["joy", "joy"]}, "label_columns: names a column twice (got ['joy', 'joy'])"),
    ({"path": "data/sources/t.csv", "label_columns": ["joy", ""]}, "label_columns: an empty column name (got ['joy', ''])"),
])
def test_a_bad_separator_or_column_option_names_its_key(source: dict, expected: str) -> None:
    assert source_error(source) == f"data.sources[0].{expected}"


@pytest.mark.parametrize("source", [
    {"path": "data/sources/t.tsv", "sep": "::"},  # a tsv is read without quote processing
    {"path": "data/sources/t.csv", "sep": "::", "quote": False},
    {"path": "data/sources/t.txt", "sep": " -> "},  # `lines`: any length, split on literally
    {"path": "data/sources/t.txt", "text_column": "text", "label_column": "label"},  # the names it has anyway
    {"path": "data/sources/t.csv", "sep": '"', "quote": False},
])
def test_separators_and_columns_that_fit_the_format_pass(source: dict) -> None:
    validate({"data": {"sources": [{"kind": "file", **source}]}})


def test_a_sep_that_splits_nothing_says_the_file_read_as_one_column(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("review;stars\ngood;pos\n")
    with pytest.raises(PipelineError, match=r"^[^\n]*semi.csv: no column 'review', 'stars'; columns are: review;stars "
                                            r"\(the only one: is `sep` right\?\)$"):
        read_source(file_source(path))


# ------------------------------------------------------------------ values that are not text: JSON lines, parquet
@pytest.mark.parametrize(("rows", "expected"), [
    ([{"review": "good", "stars": "pos"}, {"review": "bad", "stars": {"value": "neg"}}],
     "row 2: label column 'stars' holds an object ({'value': 'neg'}), not a label"),
    ([{"review": "good", "stars": ["pos", "neg"]}],
     "row 1: label column 'stars' holds a list (['pos', 'neg']), not a label"),
    ([{"review": "good", "stars": "pos"}, {"review": ["bad", "film"], "stars": "neg"}],
     "row 2: text column 'review' holds a list (['bad', 'film']), not text"),
])
def test_a_json_lines_object_or_list_is_refused_with_its_row(tmp_path: Path, rows: list, expected: str) -> None:
    path = tmp_path / "nested.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(PipelineError) as caught:
        read_source(file_source(path))
    advice = "; several labels per text: one 0/1 column per label (label_columns)" if "label column" in expected else ""
    assert str(caught.value) == f"{path}: {expected}{advice}"


def test_a_nested_value_past_the_first_chunk_names_its_row_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    rows = [{"review": f"text {i}", "stars": "pos"} for i in range(300)] + [{"review": "x", "stars": ["pos"]}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(PipelineError, match=r"late.jsonl: row 301: label column 'stars' holds a list"):
        list(iter_source(file_source(path), chunk_bytes=2000))


def test_a_parquet_list_column_is_refused_as_a_label(tmp_path: Path) -> None:
    path = tmp_path / "lists.parquet"
    pd.DataFrame({"review": ["good", "bad"], "stars": [["pos"], ["neg", "pos"]]}).to_parquet(path)
    with pytest.raises(PipelineError, match=r"lists.parquet: row 1: label column 'stars' holds a list \(\['pos'\]\)"):
        read_source(file_source(path))


def test_json_lines_numbers_and_booleans_stay_labels(tmp_path: Path) -> None:
    path = tmp_path / "scalars.jsonl"
    path.write_text('{"review": "a", "stars": 1}\n{"review": "b", "stars": 0}\n{"review": "c", "stars": true}\n')
    assert read_source(file_source(path))["label"].tolist() == ["1", "0", "True"]


# ------------------------------------------------------------------ a long field
def test_a_field_of_ten_megabytes_is_read(tmp_path: Path) -> None:
    # Python's csv module stops at 131,072 characters by default; the quote-aware line count raises that
    big = "word " * (2 << 20)
    path = tmp_path / "long.csv"
    path.write_text(f'review,stars\n"{big}",pos\nshort,neg\n')
    before = csv.field_size_limit()
    frame = read_source(file_source(path))
    assert frame["text"].str.len().tolist() == [len(big), 5]
    assert csv.field_size_limit() == before  # process-wide: restored


def test_a_field_past_the_limit_names_the_file_line_and_limit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lines, "FIELD_LIMIT", 1000)
    path = tmp_path / "stray.csv"
    path.write_text('review,stars\ngood,pos\n"never closed,neg\n' + "more text,pos\n" * 200)
    before = csv.field_size_limit()
    with pytest.raises(PipelineError) as caught:
        read_source(file_source(path))
    assert str(caught.value) == (
        f"{path}: malformed csv file: line 3: a field runs past 1,000 characters, the most one may hold; if a quote "
        "that never closes swallowed the lines after it, fix that quote, or set `quote: false` if the file's quotes "
        "are plain text")
    assert csv.field_size_limit() == before


# ------------------------------------------------------------------ Hub, local folder or offline
def test_hub_source_goes_through_load_dataset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "hub_dataset"
    folder.mkdir()
    pd.read_csv(dataset("disaster_tweets/train.csv")).head(300).to_csv(folder / "train.csv", index=False)
    frame = read_source(HubSource(kind="hub", dataset=str(folder), split="train", label_column="target"))
    assert len(frame) == 300 and frame["label"].isin(["0", "1"]).all()


@pytest.mark.parametrize("offline", ["0", "1"])
def test_unknown_hub_dataset_fails_fast_in_one_line(tmp_path: Path, offline: str) -> None:
    # A subprocess: huggingface_hub reads HF_HUB_OFFLINE once, at import. Without a network (or with
    # one: the Hub answers "not found"), the user gets one line in seconds, not load_dataset's retries.
    code = ("from mlkit.core.errors import run_main\nfrom mlkit.core.params import HubSource\n"
            "from mlkit.data.sources import read_source\n"
            "run_main(lambda: read_source(HubSource(kind='hub', dataset='no-such-user/no-such-set')))")
    env = {**ENV, "HF_HUB_OFFLINE": offline, "HF_HOME": str(tmp_path / "hf")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert time.monotonic() - started < 15
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: hub dataset no-such-user/no-such-set: "), done.stderr
