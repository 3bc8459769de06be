"""`mlkit predict`: every input option, labelled and unlabelled files, multilabel, and the columns it writes.

A small model trained in the test (milliseconds), so each option is checked on its own file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlkit import cli
from mlkit.core.errors import PipelineError
from mlkit.core.params import FeatureParams, model_params
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline

pytestmark = pytest.mark.fast

WORDS = {"sport": ["ball", "goal", "match", "team"], "food": ["pasta", "bread", "soup", "cheese"],
         "tech": ["laptop", "code", "chip", "server"]}
ROWS = [("the goal  of the match", "sport"), ("fresh bread and soup", "food"), ("a new laptop chip", "tech"),
        ("team ball", "sport")]  # the first one's double space is normalised in the output


def train_frame(multilabel: bool = False) -> pd.DataFrame:
    texts, labels = [], []
    for label, words in WORDS.items():
        for i, a in enumerate(words):
            for b in words[i + 1:]:
                texts.append(f"{a} and {b}")
                labels.append([label] if multilabel else label)
    if multilabel:  # texts about two topics
        texts += [f"{a} with {b}" for a in WORDS["sport"] for b in WORDS["food"]]
        labels += [["food", "sport"]] * 16
    return pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts,
                         "labels" if multilabel else "label": labels})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    pipeline = build_pipeline(FeatureParams(word_ngrams=(1, 1)), model_params(type="linear_svc"), "multiclass", True)
    model = SklearnModel(pipeline, "multiclass", sorted(WORDS))
    model.fit(train_frame())
    model.save(folder, {})
    return folder


@pytest.fixture(scope="module")
def multilabel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("multilabel")
    pipeline = build_pipeline(FeatureParams(word_ngrams=(1, 1)), model_params(type="linear_svc"), "multilabel", True)
    model = SklearnModel(pipeline, "multilabel", sorted(WORDS))
    model.fit(train_frame(multilabel=True))
    model.save(folder, {})
    return folder


def run(capsys: pytest.CaptureFixture, model: Path, path: Path, *options: str) -> tuple[pd.DataFrame, str]:
    out = path.with_name(path.name + ".out.csv")
    cli.invoke(["predict", str(path), "--model", str(model), "--output", str(out), *options])
    return pd.read_csv(out, dtype=str, keep_default_na=False), capsys.readouterr().out


def scores(stdout: str) -> dict:
    """The scores table predict prints: `  name  0.1234` lines after `predict: scores on N labelled rows`."""
    table = stdout[stdout.index("predict: scores on"):].splitlines()[1:]
    return {name: float(value) for name, value in (line.split() for line in table if line.strip())}


EXPECTED = ["the goal of the match", "fresh bread and soup", "a new laptop chip", "team ball"]


@pytest.mark.parametrize(("name", "content", "options"), [
    ("in.csv", "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in ROWS), []),
    ("in.tsv", "text\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in ROWS), []),
    ("in.txt", "body\ttopic\n" + "".join(f"{t}\t{label}\n" for t, label in ROWS),
     ["--format", "tsv", "--text-column", "body", "--label-column", "topic"]),
    ("in.csv", "".join(f"{label};{t}\n" for t, label in ROWS),
     ["--sep", ";", "--no-header", "--text-column", "1", "--label-column", "0"]),
    ("in.txt", "".join(f"{t};{label}\n" for t, label in ROWS), ["--format", "lines", "--sep", ";"]),
    ("in.jsonl", "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in ROWS), []),
], ids=["csv", "tsv", "format-tsv-named-columns", "sep-no-header-numbered-columns", "lines", "jsonl"])
def test_labelled_file_in_every_format(capsys, model_dir: Path, tmp_path: Path, name: str, content: str,
                                       options: list[str]) -> None:
    path = tmp_path / name
    path.write_text(content)
    table, stdout = run(capsys, model_dir, path, *options)
    assert list(table.columns) == ["text", "label", "prediction"]
    assert table["text"].tolist() == EXPECTED
    assert table["label"].tolist() == [label for _, label in ROWS]
    assert table["prediction"].tolist() == table["label"].tolist()
    assert f"predict: 4 rows -> {path}.out.csv" in stdout
    assert scores(stdout)["accuracy"] == 1.0 and scores(stdout)["f1_macro"] == 1.0


def test_unlabelled_file_gets_predictions_and_no_scores(capsys, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    path.write_text("id,text\n1,bread and cheese\n2,a server\n")
    table, stdout = run(capsys, model_dir, path)
    assert list(table.columns) == ["text", "prediction"]
    assert table["prediction"].tolist() == ["food", "tech"]
    assert "{" not in stdout


def test_multilabel_file_with_label_columns(capsys, multilabel_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("text,food,sport,tech\npasta with goal,1,1,0\ncode and chip,0,0,1\n")
    table, stdout = run(capsys, multilabel_dir, path, "--label-columns", "food,sport,tech")
    assert list(table.columns) == ["text", "label", "prediction"]
    assert table["label"].tolist() == ["food|sport", "tech"]
    assert table["prediction"].tolist() == ["food|sport", "tech"]
    assert scores(stdout)["f1_micro"] == 1.0


def test_labels_the_model_does_not_know_are_named(capsys, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("text,label\nball and goal,sport\nsome weather,weather\n")
    with pytest.raises(PipelineError, match="labels the model does not know: weather"):
        run(capsys, model_dir, path)


def test_a_missing_text_column_is_named(capsys, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("body,label\nball,sport\n")
    with pytest.raises(PipelineError, match="text"):
        run(capsys, model_dir, path)


def test_a_model_trained_on_several_text_columns_joins_them_the_same_way(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    pipeline = build_pipeline(FeatureParams(word_ngrams=(1, 1)), model_params(type="linear_svc"), "multiclass", True)
    model = SklearnModel(pipeline, "multiclass", sorted(WORDS))
    model.fit(train_frame())
    columns = {"text_column": ["title", "body"], "text_column_delimiter": " / ", "label_column": "label",
               "label_columns": None}
    model.save(folder, {"columns": columns})
    path = tmp_path / "new.csv"
    path.write_text("title,body,label\nmatch,team ball,sport\n,bread and soup,food\n")
    table, _ = run(capsys, folder, path)
    assert table["text"].tolist() == ["match / team ball", "bread and soup"]
    assert table["prediction"].tolist() == ["sport", "food"]
    path.write_text("body,label\nteam ball,sport\n")
    with pytest.raises(PipelineError, match=r"no column 'title', the model's text column"):
        run(capsys, folder, path)


# ---------------------------------------------------------------- bad option values: one line naming the option
ENCODINGS = "use one Python knows, such as utf-8, latin-1 or cp1252"


def refused(capsys, model: Path, path: Path, *options: str) -> str:
    """The error predict stops on, with nothing written."""
    with pytest.raises(PipelineError) as caught:
        run(capsys, model, path, *options)
    assert not path.with_name(path.name + ".out.csv").exists()
    return str(caught.value)


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in ROWS))
    return path


@pytest.mark.parametrize(("options", "expected"), [
    (["--encoding", "nonsense-enc"], f"--encoding: unknown encoding; {ENCODINGS} (got 'nonsense-enc')"),
    (["--encoding", "rot13"], f"--encoding: not a text encoding; {ENCODINGS} (got 'rot13')"),
    (["--encoding", ""], f"--encoding: unknown encoding; {ENCODINGS} (got '')"),
    (["--sep", ""], "--sep: empty; leave it out for the format's default (got '')"),
    (["--sep", "::"], "--sep: quote processing splits on one character only; for a longer sep, read the file with "
                      "--format tsv, which has no quote processing (got '::')"),
    (["--sep", '"'], "--sep: is the quote character, which cannot also separate fields; read the file with --format "
                     "tsv, which has no quote processing (got '\"')"),
    (["--sep", "\n"], "--sep: cannot hold a line break: a line break ends a row (got '\\n')"),
    (["--text-column", ""], "--text-column: an empty column name (got '')"),
    (["--text-column", "title,"], "--text-column: an empty column name (got 'title,')"),
    (["--text-column", "title, title"], "--text-column: names a column twice (got 'title, title')"),
    (["--label-column", ""], "--label-column: an empty column name (got '')"),
    (["--label-columns", ""], "--label-columns: an empty column name (got '')"),
    (["--label-columns", "food,,tech"], "--label-columns: an empty column name (got 'food,,tech')"),
    (["--label-columns", "food,food"], "--label-columns: names a column twice (got 'food,food')"),
    (["--text-column", "label"], "--text-column, --label-column: label is both a text column and a label column"),
    (["--text-column", "text,label"], "--text-column, --label-column: label is both a text column and a label column"),
    (["--label-column", "topic"], "no column 'topic', --label-column; columns are: text, label"),
    (["--label-columns", "food,tech"], "no column 'food', 'tech', --label-columns; columns are: text, label"),
    (["--label-column", "a", "--label-columns", "b"],
     "mlkit predict: --label-column, --label-columns: give one (a label column, or multilabel 0/1 columns)"),
    (["--format", "xml"], "mlkit predict: Invalid value for '--format': 'xml' is not one of 'auto', 'csv', 'tsv', "
                          "'jsonl', 'parquet', 'lines'. (--help for the options)"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_a_bad_option_value_is_one_error_naming_the_option(capsys, model_dir: Path, labelled: Path, options: list[str],
                                                          expected: str) -> None:
    message = refused(capsys, model_dir, labelled, *options)
    assert message == (f"{labelled}: {expected}" if expected.startswith("no column") else expected)


@pytest.mark.parametrize(("name", "content", "options", "expected"), [
    ("in.jsonl", '{"text": "ball", "label": "sport"}\n', ["--sep", ";"],
     "--sep: applies to csv, tsv and lines files, not jsonl; remove it (got ';')"),
    ("in.txt", "ball;sport\n", ["--text-column", "body"],
     "--text-column: a lines file has no named columns: each line is text;label; remove it (got 'body')"),
    ("in.dat", "ball|sport\n", ["--format", "lines", "--sep", "|", "--label-column", "topic"],
     "--label-column: a lines file has no named columns: each line is text|label; remove it (got 'topic')"),
], ids=["sep-for-jsonl", "column-for-lines", "label-column-for-lines"])
def test_an_option_the_format_has_no_use_for_is_refused(capsys, model_dir: Path, tmp_path: Path, name: str,
                                                        content: str, options: list[str], expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert refused(capsys, model_dir, path, *options) == expected


def test_a_longer_sep_reads_as_tsv_literally(capsys, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("text||label\n" + "".join(f"{t}||{label}\n" for t, label in ROWS))
    table, _ = run(capsys, model_dir, path, "--format", "tsv", "--sep", "||")
    assert table["label"].tolist() == [label for _, label in ROWS] and table["text"].tolist() == EXPECTED


def test_a_sep_that_splits_nothing_is_named(capsys, model_dir: Path, labelled: Path) -> None:
    assert refused(capsys, model_dir, labelled, "--sep", ";") == (
        f"{labelled}: no column 'text', the model's text column (--text-column NAME); columns are: text,label "
        "(the only one: is --sep right?)")


def test_a_json_lines_label_that_is_a_list_is_refused(capsys, model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "ball", "label": "sport"}\n{"text": "bread", "label": ["food", "tech"]}\n')
    assert refused(capsys, model_dir, path) == (
        f"{path}: row 2: label column 'label' holds a list (['food', 'tech']), not a label; several labels per "
        "text: one 0/1 column per label (label_columns)")


def test_labels_of_the_wrong_kind_for_the_model_are_refused(capsys, model_dir: Path, multilabel_dir: Path,
                                                            tmp_path: Path, labelled: Path) -> None:
    assert refused(capsys, multilabel_dir, labelled, "--label-column", "label") == (
        "--label-column: the model is multilabel: the labels to score against are 0/1 columns, one per label "
        "(--label-columns a,b,c)")
    multi = tmp_path / "multi.csv"
    multi.write_text("text,food,sport,tech\npasta,1,0,0\n")
    assert refused(capsys, model_dir, multi, "--label-columns", "food,sport,tech") == (
        "--label-columns: the model is multiclass: the labels to score against are one label column "
        "(--label-column NAME)")
    lines = tmp_path / "in.txt"
    lines.write_text("pasta and goal;food\n")
    assert refused(capsys, multilabel_dir, lines) == (
        f"{lines}: a lines file has one label per text, and the model is multilabel; give its labels as 0/1 columns "
        "(--label-columns) of a csv")


@pytest.mark.parametrize(("options", "expected"), [
    (["--encoding", "rot13"], f"--encoding: not a text encoding; {ENCODINGS} (got 'rot13')"),
    (["--sep", ""], "--sep: empty; leave it out for the format's default (got '')"),
    (["--text-column", ""], "--text-column: an empty column name (got '')"),
], ids=["encoding", "sep", "text-column"])
def test_option_values_are_checked_before_the_model_is_read(capsys, labelled: Path, tmp_path: Path,
                                                            options: list[str], expected: str) -> None:
    assert refused(capsys, tmp_path / "no-model", labelled, *options) == expected
