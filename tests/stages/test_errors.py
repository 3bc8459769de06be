"""Bad input: one line naming what is wrong and where, a non-zero exit, and every output as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlkit.testing import ROOT, Project, copy_project, dataset

OUTPUTS = ["data/raw.parquet", "data/split/train.parquet", "data/augmented/train.parquet",
           "models/model/model.skops", "metrics/eval/metrics.json", "metrics/data_card.json"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """One project with a finished run; each test breaks one thing and puts params.yaml back."""
    project = copy_project(tmp_path_factory.mktemp("errors") / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion.yaml").read_text())
    project.set_params(data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt"))}],
                             "limit": 600})
    project.commit()
    project.dvc("repro")
    return project


@pytest.fixture
def good(built: Project):
    params = built.file("params.yaml").read_text()
    before = {p: built.file(p).read_bytes() for p in OUTPUTS}
    yield built
    assert {p: built.file(p).read_bytes() for p in OUTPUTS} == before, "an output changed"
    built.file("params.yaml").write_text(params)


def fails(project: Project, stage: str, expected: str, *args: str) -> None:
    """A stage (`fetch`) or a tool (`mlkit predict`) fails with one `error:` line holding `expected`."""
    result = project.tool(stage.removeprefix("mlkit "), *args) if stage.startswith("mlkit ") else project.stage(stage, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0], lines[0]


def source(project: Project, **spec) -> None:
    project.set_params(data={"sources": [{"kind": "file", **spec}]})


def test_missing_file(good: Project) -> None:
    source(good, path="data/sources/nowhere.csv")
    fails(good, "fetch", "data/sources/nowhere.csv: no such file")


def test_missing_file_through_dvc_loses_no_data(good: Project) -> None:
    source(good, path="data/sources/nowhere.csv")
    result = good.dvc("repro", check=False)
    assert result.returncode != 0
    assert "error: data/sources/nowhere.csv: no such file" in result.stderr
    assert "the last good outputs are in DVC's cache: `dvc checkout` restores them" in result.stderr
    good.dvc("checkout")  # as the error says; the fixture then checks every output is back


def test_missing_column(good: Project, tmp_path: Path) -> None:
    good.file("data/sources/t.csv").write_text("body,label\nhello,joy\n")
    source(good, path="data/sources/t.csv")
    fails(good, "fetch", "t.csv: no column 'text'; columns are: body, label")


def test_malformed_csv(good: Project, tmp_path: Path) -> None:
    good.file("data/sources/bad.csv").write_text('text,label\n"open quote,joy\nx,y,z,w\n')
    source(good, path="data/sources/bad.csv")
    fails(good, "fetch", "bad.csv: malformed csv file")


def test_no_rows_left(good: Project, tmp_path: Path) -> None:
    good.file("data/sources/empty.csv").write_text('text,label\n"  ",joy\n"",sadness\n')
    source(good, path="data/sources/empty.csv")
    fails(good, "fetch", "data: no rows left after cleaning (empty text: 2)")


def test_label_outside_declared_set(good: Project) -> None:
    good.set_params(data={"labels": ["joy", "sadness", "anger", "fear", "love"]})
    fails(good, "fetch", "label 'surprise' is not in data.labels")


def test_url_kind_is_refused_with_the_import_recipe(good: Project) -> None:
    # Read at run time, a URL would be unseen by DVC: the schema sends the user to `import_url` instead.
    good.set_params(data={"sources": [{"kind": "url", "url": "http://127.0.0.1:9/d.csv"}]})
    fails(good, "fetch", "data.sources[0]: kind 'url' is read at run time, unseen by DVC; make it an import: "
                         "`kind: file`, `path: data/sources/NAME`, `import_url: URL`, then `mlkit import`")


def test_file_outside_data_sources_is_refused(good: Project) -> None:
    source(good, path=str(dataset("emotion/val.txt")))
    fails(good, "fetch", f"data.sources[0].path: {dataset('emotion/val.txt')} lies outside data/sources/")


def test_class_too_small_to_stratify(good: Project, tmp_path: Path) -> None:
    rows = "".join(f"text number {i};{'rare' if i < 2 else 'common'}\n" for i in range(40))
    good.file("data/sources/small.txt").write_text(rows)
    good.set_params(data={"sources": [{"kind": "file", "path": "data/sources/small.txt"}], "labels": None})
    assert good.stage("fetch").returncode == 0  # fetch writes raw.parquet: restore it after
    try:
        fails(good, "split", "split: label 'rare' has 2 row(s); stratified splitting needs at least 3")
    finally:  # fetch really ran: bring its outputs back from the DVC cache
        good.dvc("checkout", "data/raw.parquet", "metrics/data_card.json", "--force")


@pytest.mark.parametrize(("section", "values", "expected"), [
    ("model", {"type": "xgboost"}, "model.type: Input should be 'svc', 'linear_svc', 'logreg', 'random_forest', 'sgd' or 'transformer'"),
    ("model", {"gamma": -1}, "model.gamma: must be a number > 0, 'scale' or 'auto' (got -1)"),
    ("model", {"C": 0}, "model.C: Input should be greater than 0 (got 0)"),
    ("split", {"train": 0.6}, "split: train + valid + test must sum to 1"),
])
def test_bad_parameter_stops_every_stage(good: Project, section: str, values: dict, expected: str) -> None:
    good.set_params(**{section: values})
    for stage in ("fetch", "train", "evaluate"):
        fails(good, stage, f"params.yaml: {expected}")


def test_unknown_preset(good: Project) -> None:
    result = good.run("python", "-m", "mlkit", "preset", "imdb", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: preset 'imdb': unknown; available: default, digits, disaster_tweets, emotion, emotion_transformer, ru_emotion")


def test_predict_without_a_model(good: Project, tmp_path: Path) -> None:
    fails(good, "mlkit predict", f"{tmp_path}: no saved model here", str(dataset("emotion/val.txt")), "--model", str(tmp_path))
