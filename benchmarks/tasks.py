"""Every preset end to end: `dvc repro` time and the metrics it reaches; plus the digits gamma study.

    python -m benchmarks tasks [PRESET ...]     (default: every preset in presets/)

Each preset runs in its own temporary committed copy of the project; the working tree is untouched.
Writes docs/studies/results/tasks.{json,md,svg} (the tables; with digits, train and test accuracy against
gamma) after each preset (a run cut short keeps the presets it completed), which docs/studies/tasks.md
includes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from mlkit.testing.bench import ROOT, commit, import_sources, plot, project_copy, record, run, table, test_score

GAMMAS = (0.0001, 0.001, 0.01, 0.1, 0.5)  # digits: from 0.1 the SVC memorises the train split
HEADERS = ["preset", "task", "rows", "model", "train acc", "valid acc", "test acc", "test f1",
           "test f1_macro", "test f1_weighted", "gap acc", "repro s"]


def read(project: Path, path: str) -> dict[str, Any]:
    return json.loads((project / path).read_text(encoding="utf-8"))


def gamma_study(project: Path) -> list[list[object]]:
    commit(project, "digits preset: dvc.lock")  # the experiments branch off this, upstream cached
    rows = []
    for gamma in GAMMAS:
        seconds = run(f"dvc exp run -S model.gamma={gamma}", project)
        metrics = read(project, "metrics/eval/scores.json")
        rows.append([gamma, metrics["train"]["accuracy"], metrics["test"]["accuracy"], f"{seconds:.1f}"])
    return rows


def main(names: list[str]) -> None:
    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()}); nproc {os.cpu_count()}")
    rows, intervals, study = [], [], None
    for name in names:
        with project_copy() as project:
            run(f"mlkit preset {name}", project)
            import_sources(project)
            seconds = run("dvc repro", project)
            card, metrics = read(project, "metrics/data_card.json"), read(project, "metrics/eval/scores.json")
            model = read(project, "models/model/card.json")["params"]["model"]["type"]
            train, valid, test = metrics["train"], metrics["valid"], metrics["test"]
            rows.append([name, card["task"], card["rows"], model, train["accuracy"], valid["accuracy"],
                         test["accuracy"], test.get("f1"), test["f1_macro"], test["f1_weighted"],
                         metrics["gap"]["accuracy"], f"{seconds:.1f}"])
            metric = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["compare"]["metric"]
            scores = [test_score(project, metric)]
            scores.append(scores[0] if metric == "accuracy" else test_score(project, "accuracy"))  # digits: the same
            per_class = read(project, "metrics/eval/per_class.json")["test"]["per_class"]
            weakest = sorted(per_class, key=lambda label: per_class[label]["f1"])[:2]
            intervals.append([name, metric, *(f"{v:.4f} [{lo:.4f}, {hi:.4f}]" for v, lo, hi in scores),
                              ", ".join(f"{c} {per_class[c]['f1']:.3f} ({per_class[c]['support']})" for c in weakest)])
            print(f"done: {name} ({seconds:.1f} s)", flush=True)
            if name == "digits":
                study = gamma_study(project)
        write(rows, intervals, study)  # after each preset: a run cut short keeps the presets it completed


def write(rows: list[list[Any]], intervals: list[list[Any]], study: list[list[object]] | None) -> None:
    notes = ["`mlkit preset NAME && dvc repro` in a fresh copy (empty cache); test f1 = F1 of the positive class, "
             "binary tasks only",
             "The task's metric (compare.metric) and accuracy on test, 95% bootstrap intervals (1,000 resamples); "
             "the two classes with the lowest test F1 (their test support)",
             "digits: `dvc exp run -S model.gamma=G` (over-fitting study)"]
    tables = [(notes[0], HEADERS, rows),
              (notes[1], ["preset", "metric", "test metric [95% interval]", "test acc [95% interval]",
                          "weakest classes"], intervals)]
    if study:
        tables.append((notes[2], ["gamma", "train acc", "test acc", "exp run s"], study))
    for text, heads, body in tables:
        print(f"\n{text}\n")
        print(table(heads, body))
    numbers = {"presets": {r[0]: dict(zip(HEADERS[1:], r[1:])) for r in rows},
               "intervals": {r[0]: {"metric": r[1], "test_metric": r[2], "test_accuracy": r[3], "weakest": r[4]}
                             for r in intervals},
               "gamma_study": [dict(zip(["gamma", "train_accuracy", "test_accuracy", "exp_run_s"], r))
                               for r in study or []]}
    print(f"written: {record('tasks', numbers, tables[0][1], tables[0][2], note=tables[0][0], more=tables[1:])}")
    if study:
        gammas = [r[0] for r in study]
        figure = plot("tasks", {"train": (gammas, [r[1] for r in study], None),
                                "test": (gammas, [r[2] for r in study], None)},
                      x_label="model.gamma (log scale)", y_label="accuracy", logx=True, ylim=(-0.02, 1.05),
                      title="digits: train and test accuracy against gamma")
        print(f"written: {figure}")

if __name__ == "__main__":
    available = sorted(p.stem for p in (ROOT / "presets").glob("*.yaml"))
    chosen = sys.argv[1:] or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        sys.exit(f"unknown preset(s): {', '.join(unknown)}; available: {', '.join(available)}")
    main(chosen)
