"""`mlkit predict`: the model card's columns by default, no silent overwrite, defaults in --help, scores as a
short table, a warning for texts the model was trained on, and every bad input or model file one `error:` line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mlkit.testing import ROOT, stage, workspace

# Labels a, b, c with a word that gives them away, so the model learns something in 90 rows.
ROWS = "review,sentiment\n" + "".join(f"note {i} says {'abc'[i % 3]}word,{'abc'[i % 3]}\n" for i in range(90))
NEW = "review,sentiment\n" + "".join(f"fresh {i} about {'abc'[i % 3]}word,{'abc'[i % 3]}\n" for i in range(12))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A folder with a model trained (stage by stage) on a csv whose columns are `review` and `sentiment`."""
    source = {"kind": "file", "path": "data/sources/t.csv", "text_column": "review", "label_column": "sentiment"}
    folder = workspace(tmp_path_factory.mktemp("predict"), ROWS, data={"sources": [source]},
                       model={"type": "linear_svc"})
    for name in ("fetch", "split", "augment", "train"):
        result = stage(folder, name)
        assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained folder this test may change."""
    copy = tmp_path / "p"
    shutil.copytree(trained, copy)
    (copy / "new.csv").write_text(NEW)
    return copy


def predict(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mlkit", "predict", *args], cwd=folder, env=env,
                          capture_output=True, text=True)


def fails(folder: Path, expected: str, *args: str) -> None:
    result = predict(folder, *args)
    usage = expected.startswith("mlkit predict: ")  # a command line that does not parse: exit 2, as argparse
    assert result.returncode == (2 if usage else 1), result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0], lines[0]


def test_columns_default_to_the_ones_the_model_was_trained_on(project: Path) -> None:
    card = json.loads((project / "models/model/card.json").read_text())
    assert card["columns"] == {"text_column": "review", "label_column": "sentiment", "label_columns": None,
                               "text_column_delimiter": " "}
    result = predict(project, "new.csv", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(project / "out.csv")
    assert list(out.columns) == ["text", "label", "prediction"] and len(out) == 12
    assert "scores on 12 labelled rows" in result.stdout  # the labels were found in `sentiment` and scored


def test_scores_print_as_a_short_table(project: Path) -> None:
    result = predict(project, "new.csv", "--output", "out.csv")
    lines = result.stdout.strip().splitlines()
    table = lines[lines.index("predict: scores on 12 labelled rows") + 1:]
    assert [line.split()[0] for line in table] == ["accuracy", "f1_macro", "f1_weighted"]
    for line in table:
        value = line.split()[1]
        assert len(value.split(".")[1]) == 4 and 0 <= float(value) <= 1, line  # 4 decimals, not 16
    assert "{" not in result.stdout


def test_help_shows_the_defaults(project: Path) -> None:
    shown = " ".join(predict(project, "--help").stdout.split())
    assert "[default: models/model]" in shown and "default: predictions.csv, which is never overwritten" in shown
    assert "default: the column the model was trained on (its card.json), else text (in models/model: review)" in shown
    assert "else label (in models/model: sentiment)" in shown  # the card's names, so --help shows the real default
    assert "[default: utf-8]" in shown and "None" not in shown


def test_the_default_output_is_never_overwritten_silently(project: Path) -> None:
    assert predict(project, "new.csv").returncode == 0
    (project / "predictions.csv").write_text("mine\n")
    fails(project, "predictions.csv exists: name the output with --output FILE, or overwrite it with --force",
          "new.csv")
    assert (project / "predictions.csv").read_text() == "mine\n"  # nothing lost
    assert predict(project, "new.csv", "--force").returncode == 0
    assert len(pd.read_csv(project / "predictions.csv")) == 12
    (project / "out.csv").write_text("old\n")
    assert predict(project, "new.csv", "--output", "out.csv").returncode == 0  # named outright: replaced
    assert len(pd.read_csv(project / "out.csv")) == 12


def test_warns_when_input_texts_were_in_the_training_data(project: Path) -> None:
    train = pd.read_parquet(project / "data/augmented/train.parquet")
    mixed = pd.concat([pd.read_csv(project / "new.csv").head(6),
                       train.head(4).rename(columns={"text": "review", "label": "sentiment"})[["review", "sentiment"]]])
    mixed.to_csv(project / "mixed.csv", index=False)
    result = predict(project, "mixed.csv", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    assert ("warning: 4 of 10 input texts were in the model's training data (data/augmented/train.parquet); "
            "scores on them overstate the model") in result.stderr
    clean = predict(project, "new.csv", "--output", "out.csv")
    assert "warning" not in clean.stderr


def corrupt(project: Path, what: str) -> None:
    model = project / "models/model"
    card = json.loads((model / "card.json").read_text())
    if what == "skops_garbage":
        (model / "model.skops").write_bytes(os.urandom(2000))
    elif what == "skops_empty":
        (model / "model.skops").write_bytes(b"")
    elif what == "not_skops":
        (model / "model.skops").unlink()
        with zipfile.ZipFile(model / "model.skops", "w") as z:
            z.writestr("hello.txt", "a zip, but no skops schema")
    elif what == "card_not_json":
        (model / "card.json").write_text("{not json")
    elif what == "card_without_task":
        del card["task"]
        (model / "card.json").write_text(json.dumps(card))
    elif what == "card_other_labels":
        card["labels"] = ["x", "y", "z"]
        (model / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize(("what", "expected"), [
    ("skops_garbage", "models/model/model.skops: not a readable skops file"),
    ("skops_empty", "models/model/model.skops: not a readable skops file"),
    ("not_skops", "models/model/model.skops: not a readable skops file"),
    ("card_not_json", "models/model/card.json: not valid JSON"),
    ("card_without_task", "models/model/card.json: `task` is missing or not a str"),
    ("card_other_labels", "models/model/card.json: its labels (x, y, z) are not the model's classes (a, b, c)"),
])
def test_a_broken_model_file_is_one_error_line(project: Path, what: str, expected: str) -> None:
    corrupt(project, what)
    fails(project, expected, "new.csv", "--output", "out.csv")
    assert not (project / "out.csv").exists()


def test_bad_input_is_one_error_line(project: Path) -> None:
    (project / "header.csv").write_text("review,sentiment\n")
    fails(project, "header.csv: no rows to predict (the file is empty or holds only a header)",
          "header.csv", "--output", "out.csv")
    fails(project, "--encoding: unknown encoding; use one Python knows, such as utf-8, latin-1 or cp1252 (got "
                   "'utf-99')", "new.csv", "--encoding", "utf-99", "--output", "out.csv")
    fails(project, "mlkit predict: No such option: --bogus", "new.csv", "--bogus")
    fails(project, "mlkit predict: Missing argument 'INPUT'.")
    (project / "other.csv").write_text("body,label\nhello,a\n")
    fails(project, "other.csv: no column 'review', the model's text column (--text-column NAME); columns are: "
                   "body, label", "other.csv", "--output", "out.csv")
    (project / "latin.csv").write_bytes("review,sentiment\ncaf\xe9 awordy,a\n".encode("latin-1"))
    fails(project, "latin.csv: not utf-8 text (invalid continuation byte)", "latin.csv", "--output", "out.csv")
    assert not (project / "out.csv").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--encoding", "rot13"], "error: --encoding: not a text encoding; use one Python knows, such as utf-8, latin-1 "
                              "or cp1252 (got 'rot13')"),
    (["--label-column", "review"], "error: --text-column, --label-column: review is both a text column and a label "
                                   "column"),
    (["--sep", ""], "error: --sep: empty; leave it out for the format's default (got '')"),
    (["--text-column", ""], "error: --text-column: an empty column name (got '')"),
], ids=["non-text-encoding", "text-is-label", "empty-sep", "empty-text-column"])
def test_a_bad_option_value_is_the_one_line_it_names(project: Path, args: list[str], expected: str) -> None:
    # each of them once ended in a traceback, or was passed over for the default
    result = predict(project, "new.csv", "--output", "out.csv", *args)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [expected], result.stderr
    assert not (project / "out.csv").exists()


def test_an_output_path_that_cannot_be_written_is_one_error_line(project: Path) -> None:
    (project / "afile").write_text("kept\n")
    fails(project, "afile/out.csv: Not a directory; a folder on that path is a file", "new.csv", "--output",
          "afile/out.csv")
    (project / "adir").mkdir()
    (project / "adir" / "old.csv").write_text("kept\n")
    fails(project, "adir: Is a directory; that is a folder; name a file", "new.csv", "--output", "adir")
    assert (project / "afile").read_text() == "kept\n" and (project / "adir" / "old.csv").read_text() == "kept\n"
    assert sorted(p.name for p in (project / "adir").iterdir()) == ["old.csv"]


def test_a_json_lines_label_object_and_a_long_field_in_predict(project: Path) -> None:
    (project / "nested.jsonl").write_text('{"review": "fresh awordy", "sentiment": {"is": "a"}}\n')
    fails(project, "nested.jsonl: row 1: label column 'sentiment' holds an object ({'is': 'a'}), not a label",
          "nested.jsonl", "--output", "out.csv")
    long = "bword " * (2 << 20)  # 12 MB in one quoted field: read, not refused at Python's csv default limit
    (project / "long.csv").write_text(f'review,sentiment\n"{long}",b\nfresh cword,c\n')
    result = predict(project, "long.csv", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(project / "out.csv")) == 2


def test_a_labelled_file_is_mapped_with_the_models_label_map(tmp_path: Path) -> None:
    """Trained with `label_map: {"1": yes, "0": no}`, the model scores the raw 0/1 file it came from."""
    rows = "text,label\n" + "".join(f"note {i} says {'ny'[i % 2]}word,{i % 2}\n" for i in range(80))
    folder = workspace(tmp_path, rows, data={"label_map": {"1": "yes", "0": "no"}}, model={"type": "linear_svc"})
    for name in ("fetch", "split", "augment", "train"):
        result = stage(folder, name)
        assert result.returncode == 0, result.stderr
    done = subprocess.run([sys.executable, "-m", "mlkit", "predict", "data/sources/t.csv", "--output", "out.csv"],
                          cwd=folder, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(folder / "out.csv", dtype=str)
    assert set(out["label"]) == {"yes", "no"} and set(out["prediction"]) <= {"yes", "no"}
    assert "accuracy" in done.stdout
