"""evaluate's outputs: headline metrics in the DVC metrics file (`dvc metrics show` fits 120 columns), every
averaging and the gap, and the per-class figures, in plain outs, and a printed table of the splits and the gap."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from unittest.mock import ANY

import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score

from mlkit.modeling.base import load_model
from mlkit.testing import MULTICLASS, ROOT, dvc, stage, workspace
from mlkit.tools.report import _metrics_section


def run_to_evaluate(root: Path, rows: str) -> tuple[Path, str]:
    """A workspace with this checkout's dvc.yaml, run stage by stage up to evaluate; (folder, evaluate's stdout)."""
    folder = workspace(root, rows)
    (folder / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text().replace(
        "    - mlkit/data\n    params:\n    - data\n", "    - mlkit/data\n    - data/sources/t.csv\n    params:\n    - data\n"))
    dvc("init", "--no-scm", "-q", cwd=folder)
    shutil.copytree(ROOT / ".dvc" / "plots", folder / ".dvc" / "plots")  # the custom plot templates
    for name in ("fetch", "split", "augment", "train"):
        assert stage(folder, name).returncode == 0, name
    result = stage(folder, "evaluate")
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[Path, str]:
    return run_to_evaluate(tmp_path_factory.mktemp("evaluate"), MULTICLASS)


def uneven_rows() -> str:
    """Three unbalanced classes (6:3:1) with words that mostly, not always, tell them apart: scores that differ
    between splits and between macro and weighted averaging."""
    rows = []
    for i in range(300):
        label = "a" if i % 10 < 6 else "b" if i % 10 < 9 else "c"
        word = {"a": "alpha", "b": "beta", "c": "gamma"}[label] if i % 4 else ["alpha", "beta", "gamma"][i % 3]
        rows.append(f"{word} item {i} x{i % 13},{label}\n")
    return "text,label\n" + "".join(rows)


def test_headline_metrics_and_per_class_figures_in_separate_files(evaluated: tuple[Path, str]) -> None:
    folder, _ = evaluated
    metrics = json.loads((folder / "metrics/eval/metrics.json").read_text())
    # The headline: compare.metric on each split and the test accuracy; every averaging and the gap in scores.json.
    assert metrics == {"train": {"f1_macro": ANY}, "valid": {"f1_macro": ANY}, "test": {"f1_macro": ANY, "accuracy": ANY}}
    scores = json.loads((folder / "metrics/eval/scores.json").read_text())
    assert set(scores) == {"train", "valid", "test", "gap"}
    assert set(scores["test"]) == {"accuracy", "f1_macro", "f1_weighted"}  # no per_class there either
    assert all(metrics[s][m] == scores[s][m] for s in metrics for m in metrics[s])
    per_class = json.loads((folder / "metrics/eval/per_class.json").read_text())
    assert set(per_class) == {"train", "valid", "test"}
    assert set(per_class["test"]["per_class"]) == {"a", "b", "c"}
    assert set(per_class["test"]["per_class"]["a"]) == {"precision", "recall", "f1", "support"}


@pytest.mark.fast
def test_dvc_yaml_declares_only_headline_figures_as_metrics() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    metrics = {m for s in stages.values() for m in s.get("metrics", [])}
    assert metrics == {"metrics/eval/metrics.json", "metrics/train/metrics.json"}
    outs = [o if isinstance(o, str) else next(iter(o)) for o in stages["evaluate"]["outs"]]
    assert "metrics/eval/per_class.json" in outs and "metrics/eval/scores.json" in outs
    for name, card in [("fetch", "metrics/data_card.json"), ("split", "metrics/split.json"),
                       ("augment", "metrics/augment.json"), ("compare", "metrics/compare.json")]:
        assert card in stages[name]["outs"], card  # still a DVC output: cached, pushed, `dvc metrics show FILE`


def test_dvc_metrics_show_fits_a_wide_terminal(evaluated: tuple[Path, str]) -> None:
    folder, _ = evaluated
    shown = dvc("metrics", "show", cwd=folder).stdout
    assert "test.accuracy" in shown and "valid.f1_macro" in shown and "gap" not in shown
    assert "per_class" not in shown and "rows_per_label" not in shown
    assert max(map(len, shown.splitlines())) <= 120, shown  # a 120-column terminal; 2,328 characters once
    one = dvc("metrics", "show", "metrics/eval/per_class.json", "--json", cwd=folder).stdout
    assert "per_class" in one  # on request, the per-class figures are still one command away


def test_printed_summary_shows_every_split_and_the_gap(evaluated: tuple[Path, str]) -> None:
    folder, stdout = evaluated
    metrics = json.loads((folder / "metrics/eval/scores.json").read_text())
    lines = stdout.strip().splitlines()[-6:]
    assert lines[0].split() == ["accuracy", "f1_macro", "f1_weighted"]
    assert set(lines[1].strip()) == {"-", " "}  # the rule under the header
    for line, split in zip(lines[2:], ["train", "valid", "test", "gap"]):
        cells = line.split()
        shown = [f"{metrics[split][n]:{'+' if split == 'gap' else ''}.4f}" for n in lines[0].split()]
        assert cells == [split, *shown], line
    assert max(map(len, lines)) <= 80


@pytest.mark.fast
def test_report_folds_per_class_rows_and_data_cards() -> None:
    head = "| Path | Metric | main | workspace | Change |\n|---|---|---|---|---|\n"
    headline = head + "| metrics/eval/metrics.json | test.accuracy | 0.5 | 0.6 | 0.1 |\n"
    per_class = head + "| metrics/eval/per_class.json | test.per_class.a.f1 | 0.5 | 0.7 | 0.2 |\n"
    cards = head + "| metrics/data_card.json | rows | 50 | 60 | 10 |\n"
    text = "\n".join(_metrics_section(headline, per_class, cards))
    before_fold = text.split("<details>")[0]
    assert "test.accuracy" in before_fold and "per_class" not in before_fold and "data_card" not in before_fold
    assert "Every averaging, the gap, per class (1 changed)" in text and "test.per_class.a.f1" in text
    assert "Data cards: rows, labels, dropped (1 changed)" in text and "| rows | 50 | 60 |" in text
    assert _metrics_section(head, head, head) == ["No metric changed."]


def test_confusion_matrix_plot_draws_the_count_in_each_cell(evaluated: tuple[Path, str]) -> None:
    vl_convert = pytest.importorskip("vl_convert")
    folder, _ = evaluated
    shown = json.loads(dvc("plots", "show", "--json", cwd=folder).stdout)
    spec = next(v[0]["content"] for k, v in shown["data"].items() if k.startswith("Confusion matrix"))
    svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])  # drawn as a browser would, offline
    texts = Counter(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    predictions = pd.read_csv(folder / "metrics/eval/predictions.csv", dtype=str)
    counts = Counter(str(n) for n in predictions.groupby(["label", "prediction"]).size())
    assert sum(counts.values()) > 1 and counts <= texts, (counts, texts)  # every non-zero cell shows its count


def test_a_large_train_split_is_scored_on_a_sample_and_the_metrics_say_so(evaluated: tuple[Path, str],
                                                                          tmp_path: Path) -> None:
    folder = Path(shutil.copytree(evaluated[0], tmp_path / "copy"))
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["evaluate"]["train_rows"] = 10
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = stage(folder, "evaluate")
    assert result.returncode == 0, result.stderr
    train_rows = len(pd.read_parquet(folder / "data/split/train.parquet"))
    assert f"train: a sample of 10 of its {train_rows} rows (evaluate.train_rows)" in result.stdout
    scores = json.loads((folder / "metrics/eval/scores.json").read_text())
    assert scores["train"]["sampled_rows"] == 10 and "sampled_rows" not in scores["test"]
    per_class = json.loads((folder / "metrics/eval/per_class.json").read_text())
    assert sum(v["support"] for v in per_class["train"]["per_class"].values()) == 10
    test_support = sum(v["support"] for v in per_class["test"]["per_class"].values())
    assert test_support == len(pd.read_parquet(folder / "data/split/test.parquet"))  # valid and test: every row


def test_every_reported_figure_is_recomputed_from_the_files_on_disk(tmp_path: Path) -> None:
    """Each split's scores, recomputed with scikit-learn from that split's file and the saved model (test: from
    predictions.csv, and its ids are the test split's), equal what evaluate wrote: a swapped split or averaging
    fails here."""
    folder, _ = run_to_evaluate(tmp_path, uneven_rows())
    scores = json.loads((folder / "metrics/eval/scores.json").read_text())
    headline = json.loads((folder / "metrics/eval/metrics.json").read_text())
    model = load_model(folder / "models/model")
    averaging = {"f1_macro": "macro", "f1_weighted": "weighted"}
    for split in ("train", "valid", "test"):
        frame = pd.read_parquet(folder / f"data/split/{split}.parquet")
        truth, predicted = frame["label"].astype(str).tolist(), model.predict(frame)
        if split == "test":
            written = pd.read_csv(folder / "metrics/eval/predictions.csv", dtype=str, keep_default_na=False)
            assert written["id"].tolist() == frame["id"].tolist()
            assert written["label"].tolist() == truth and written["prediction"].tolist() == predicted
        expected = {"accuracy": accuracy_score(truth, predicted),
                    **{name: f1_score(truth, predicted, average=how) for name, how in averaging.items()}}
        assert scores[split] == pytest.approx(expected), split
        assert headline[split] == pytest.approx({k: expected[k] for k in headline[split]}), split
    assert scores["gap"] == pytest.approx({k: scores["train"][k] - scores["test"][k] for k in scores["gap"]})
    # The data tells them apart: the splits score differently, and so do the two averagings.
    assert scores["valid"] != pytest.approx(scores["test"])
    assert all(scores[split]["f1_macro"] != pytest.approx(scores[split]["f1_weighted"]) for split in scores)
