"""End to end: real `dvc repro`, `dvc exp run`, metrics, plots and predict in a temporary git repository."""

from __future__ import annotations

import json

from mlkit.testing import Project, dataset

STAGES = ["validate", "fetch", "split", "augment", "train", "evaluate", "compare"]
OUTPUTS = ["data/raw.parquet", "data/split/train.parquet", "data/augmented/train.parquet", "models/model/model.skops",
           "models/model/card.json", "metrics/eval/metrics.json", "metrics/eval/per_class.json",
           "metrics/eval/predictions.csv",
           "metrics/compare.md", "metrics/data_card.json", "metrics/split.json"]


def ran(output: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in output]


def test_repro_experiment_metrics_and_plots(project: Project) -> None:
    first = project.dvc("repro")
    assert ran(first.stdout) == STAGES
    for path in OUTPUTS:
        assert project.file(path).is_file(), path
    metrics = json.loads(project.file("metrics/eval/metrics.json").read_text())
    assert {"train", "valid", "test"} == metrics.keys() and 0.5 < metrics["test"]["accuracy"] <= 1
    scores = json.loads(project.file("metrics/eval/scores.json").read_text())
    assert scores["gap"]["accuracy"] == scores["train"]["accuracy"] - scores["test"]["accuracy"]
    per_class = json.loads(project.file("metrics/eval/per_class.json").read_text())
    assert set(per_class["test"]["per_class"]) == {"sadness", "joy", "love", "anger", "fear", "surprise"}
    report = project.file("metrics/compare.md").read_text()
    assert "No champion: nothing is assigned to stage `prod`" in report and "**Decision: promote.**" in report

    # Seeded end to end: training again gives the same metrics.
    project.dvc("repro", "-f", "-s", "train")
    project.dvc("repro")
    assert json.loads(project.file("metrics/eval/metrics.json").read_text()) == metrics

    # Outputs are DVC's, not git's; a second repro does nothing.
    assert project.git("status", "--porcelain", "--", "data", "models", "metrics/eval").stdout.strip() == ""
    assert "Data and pipelines are up to date" in project.dvc("repro").stdout

    shown = json.loads(project.dvc("metrics", "show", "--json").stdout)
    assert "metrics/eval/metrics.json" in json.dumps(shown) and "per_class" not in json.dumps(shown)
    assert max(map(len, project.dvc("metrics", "show").stdout.splitlines())) < 260  # fits a wide terminal
    plots = project.dvc("plots", "show", "-o", "plots_html")
    assert project.file("plots_html/index.html").is_file(), plots.stdout

    project.commit("baseline run")
    experiment = project.dvc("exp", "run", "-S", "model.C=0.05")
    assert ran(experiment.stdout) == ["validate", "train", "evaluate", "compare"]  # upstream stays cached
    # Stages rewrite whole folders; DVC's .gitignore files in them survive, so git sees no output.
    assert project.git("status", "--porcelain", "--", "data", "models", "metrics").stdout.strip() == ""

    table = json.loads(project.dvc("exp", "show", "--json").stdout)
    assert "model.C" in json.dumps(table) or '"C": 0.05' in json.dumps(table)
    diff = project.dvc("metrics", "diff", "--md").stdout
    assert "test.accuracy" in diff


def test_a_bad_parameter_is_refused_before_any_stage_removes_an_output(project: Project) -> None:
    project.dvc("repro")
    project.commit("baseline run")
    before = {p: project.file(p).read_bytes() for p in ["models/model/model.skops", "metrics/eval/metrics.json",
                                                          "params.yaml"]}
    failed = project.dvc("exp", "run", "-S", "model.C=-1", check=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "error: params.yaml: model.C: Input should be greater than 0 (got -1)\n" in failed.stderr
    assert ran(failed.stdout) == ["validate"]  # train never started, so its outputs were never removed
    # -S left its value in params.yaml; put back by content (git's index may take the file for unchanged
    # after DVC's reset: docs/reference/errors.md)
    project.file("params.yaml").write_bytes(before.pop("params.yaml"))
    assert {p: project.file(p).read_bytes() for p in before} == before
    assert "Data and pipelines are up to date" in project.dvc("status").stdout


def test_an_unknown_section_is_refused_though_no_stage_reads_it(project: Project) -> None:
    """A typo'd section (`modle:`) changes no section a pipeline stage reads; validate reads the whole file."""
    project.dvc("repro")
    with project.file("params.yaml").open("a") as params:
        params.write("modle:\n  C: 2\n")
    failed = project.dvc("repro", check=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert [line for line in failed.stderr.splitlines() if line.startswith("error:")] == [
        "error: params.yaml: modle: unknown key"]
    assert ran(failed.stdout) == ["validate"]
    project.git("checkout", "params.yaml")
    assert "Data and pipelines are up to date" in project.dvc("repro").stdout


def test_predict_on_a_labelled_file(project: Project, tmp_path) -> None:
    project.dvc("repro")
    result = project.tool("predict", str(dataset("emotion/val.txt")), "--output", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    scores = dict(line.split() for line in result.stdout.splitlines() if line.startswith("  "))  # the table
    assert float(scores["accuracy"]) > 0.5
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 2001


def test_multilabel_and_digits_run_through_dvc(project: Project) -> None:
    labels = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    project.set_params(
        data={"sources": [{"kind": "file", "path": project.source(dataset("ru_emotion_cryptonite/valid.csv")),
                           "label_columns": labels}], "labels": None, "limit": 2000},
        features={"word_ngrams": None, "char_ngrams": [1, 4], "min_df": 2},
    )
    project.dvc("repro")
    metrics = json.loads(project.file("metrics/eval/scores.json").read_text())
    per_class = json.loads(project.file("metrics/eval/per_class.json").read_text())
    assert "f1_micro" in metrics["test"] and len(per_class["test"]["per_class"]) == 7
    assert project.file("metrics/eval/plots/sklearn/roc.json").is_file()

    (project.path / "params.yaml").write_text((project.path / "presets/digits.yaml").read_text())
    project.dvc("repro")
    metrics = json.loads(project.file("metrics/eval/metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97
