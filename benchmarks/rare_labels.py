"""The Russian preset's rare labels: is a different head enough, or do they need more labelled texts?

    python -m benchmarks rare_labels [--labels disgust,fear] [--seeds 5]

Runs `mlkit preset ru_emotion && dvc repro` in a temporary copy, then, on the preset's own fitted features
(character n-grams + the multilingual USE), refits one label's head alone:

1. heads: LinearSVC and logistic regression over a C grid, each at its own cut (0) and at the cut with
   the best valid F1; the one with the best valid F1 is the pick, and its test F1 is what a study that
   chose on valid would report (with the 95% bootstrap interval of the test texts).
2. a learning curve: the preset's head refitted on a share of the label's train texts (the others
   dropped from the train split), averaged over seeded draws: whether F1 still rises with more texts.
3. self-training: the hackathon's unlabelled texts (test_without_answers.csv, whose label columns are
   placeholders; cleaned as fetch does, without repeats or texts of the splits) scored by the preset's
   head; its top k added to the train split as positives and the head refitted: whether texts the head
   labels itself stand in for labelled ones.

Writes docs/studies/results/rare_labels.{json,md,svg} (a summary per label, then each label's heads, learning
curve and self-training; the svg: the learning curves), which docs/studies/rare-labels.md includes.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import f1_score

from mlkit.core.params import ModelParams, model_params
from mlkit.core.table import dedupe_key
from mlkit.data.dataset import normalise_whitespace
from mlkit.modeling.base import indicator, load_model
from mlkit.modeling.metrics import bootstrap_interval
from mlkit.modeling.sklearn_model import build_estimator
from mlkit.testing.bench import SHARED, plot, project_copy, record, run, table

C_GRID = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
CUTS = np.round(np.arange(-1.5, 1.501, 0.05), 2)  # decision-function values (0: the estimator's own cut)
SHARES = (0.25, 0.5, 0.75, 1.0)
TOP_K = (25, 50, 100, 200)  # pseudo-positives added by self-training
UNLABELLED = SHARED / "datasets/ru_emotion_cryptonite/test_without_answers.csv"


def heads(preset: ModelParams) -> list[ModelParams]:
    """The preset's model section first, then each type and C of the grid (logreg's C ten times larger)."""
    grid = [preset.model_copy(update={"type": kind, "C": scale * c})
            for kind, scale in (("linear_svc", 1), ("logreg", 10)) for c in C_GRID]
    return [preset, *(h for h in grid if (h.type, h.C) != (preset.type, preset.C))]


def test_f1(truth: np.ndarray, guess: np.ndarray) -> str:
    of_rows = lambda rows: f1_score(truth[rows], guess[rows], zero_division=0)  # noqa: E731
    low, high = bootstrap_interval(of_rows, len(truth))
    return f"{of_rows(slice(None)):.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default="disgust,fear")
    parser.add_argument("--seeds", type=int, default=5, help="draws per share of the learning curve")
    parser.add_argument("--unlabelled", default=str(UNLABELLED), help="a csv of unlabelled texts (column `text`)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)  # logreg's convergence notes at large C
    print(f"command: python {' '.join(sys.argv)}")
    with project_copy() as project:
        run("mlkit preset ru_emotion", project)
        seconds = run("dvc repro", project)
        print(f"`mlkit preset ru_emotion && dvc repro`: {seconds:.0f} s")
        model = load_model(project / "models/model")
        features = model.pipeline.named_steps["features"]
        splits = {name: pd.read_parquet(project / f"data/{'augmented' if name == 'train' else 'split'}/{name}.parquet")
                  for name in ("train", "valid", "test")}
        x = {name: features.transform(frame["text"].astype(str).tolist()) for name, frame in splits.items()}
        y = {name: indicator(frame["labels"], model.labels) for name, frame in splits.items()}
        # Cleaned as fetch cleans; none that is (or repeats) a text of the splits: no split text is trained on.
        read = normalise_whitespace(pd.read_csv(args.unlabelled, usecols=["text"])["text"].astype("string").fillna(""))
        seen = set(pd.concat([dedupe_key(f["text"].astype("string")) for f in splits.values()]))
        keys = dedupe_key(read)
        unlabelled = read[(read != "") & ~keys.isin(seen) & ~keys.duplicated()].tolist()
        x["unlabelled"] = features.transform(unlabelled)
        preset = model_params(**model.card["params"]["model"])
    summary: list[list[object]] = []
    more: list[tuple[str, list[str], list[list[object]]]] = []
    numbers: dict[str, object] = {"repro_s": seconds, "unlabelled": len(unlabelled), "labels": {}}
    curves: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float] | None]] = {}
    for label in args.labels.split(","):
        j = model.labels.index(label)
        counts = {name: int(y[name][:, j].sum()) for name in y}
        print(f"\n{label}: {counts['train']} train, {counts['valid']} valid, {counts['test']} test texts\n")
        rows, best = [], None
        for head in heads(preset):
            fitted = build_estimator(head).fit(x["train"], y["train"][:, j])
            valid_scores, test_scores = fitted.decision_function(x["valid"]), fitted.decision_function(x["test"])
            tuned = max(CUTS, key=lambda cut: (f1_score(y["valid"][:, j], valid_scores >= cut), -abs(cut)))
            for cut in dict.fromkeys((0.0, float(tuned))):  # once when the tuned cut is the estimator's own
                valid_f1 = f1_score(y["valid"][:, j], valid_scores >= cut, zero_division=0)
                row = [f"{head.type} C={head.C:g}", f"{cut:+.2f}", valid_f1, test_f1(y["test"][:, j], test_scores >= cut)]
                rows.append(row)
                if best is None or valid_f1 > best[2] + 1e-12:
                    best = row
        print(table(["head", "cut", "valid F1", "test F1 [95% interval]"], rows))
        print(f"picked on valid: {best[0]} at cut {best[1]}: valid {best[2]:.3f}, test {best[3]}")
        own = rows[0]  # the preset's head at its own cut
        summary.append([label, f"{counts['train']}/{counts['valid']}/{counts['test']}", own[2], own[3],
                        f"{best[0]} at cut {best[1]}", best[2], best[3]])
        more.append((f"`{label}`: each head at its own cut (+0.00) and at the cut tuned on valid",
                     ["head", "cut", "valid F1", "test F1 [95% interval]"], rows))
        heads_rows = rows
        curve = []
        positive = np.flatnonzero(y["train"][:, j])
        for share in SHARES:
            scores = []
            for seed in range(args.seeds if share < 1 else 1):
                dropped = np.random.default_rng(seed).permutation(positive)[round(share * len(positive)):]
                keep = np.setdiff1d(np.arange(len(y["train"])), dropped)
                head = build_estimator(preset).fit(x["train"][keep], y["train"][keep, j])
                scores.append(f1_score(y["test"][:, j], head.predict(x["test"]), zero_division=0))
            curve.append([f"{share:.0%}", len(positive) - len(dropped), len(scores), float(np.mean(scores)),
                          float(np.std(scores))])
        print(f"\nlearning curve: the preset's head ({preset.type} C={preset.C:g}) on a share of the {label} train texts\n")
        print(table(["share", f"{label} train texts", "draws", "test F1 (mean)", "sd"], curve))
        more.append((f"`{label}`: the preset's head ({preset.type} C={preset.C:g}) on a share of the label's train "
                     f"texts, test F1 mean and standard deviation over seeded draws",
                     ["share", f"{label} train texts", "draws", "test F1 (mean)", "sd"], curve))
        curves[label] = ([r[1] for r in curve], [r[3] for r in curve], [r[4] for r in curve])
        head = build_estimator(preset).fit(x["train"], y["train"][:, j])
        guessed = head.decision_function(x["unlabelled"])
        ranked, marked = np.argsort(-guessed, kind="stable"), int((guessed >= 0).sum())
        rows = []
        for k in (0, *TOP_K):
            train = sp.vstack([x["train"], x["unlabelled"][ranked[:k]]]).tocsr()
            refit = build_estimator(preset).fit(train, np.concatenate([y["train"][:, j], np.ones(k, dtype=int)]))
            rows.append([k, f1_score(y["valid"][:, j], refit.predict(x["valid"]), zero_division=0),
                         test_f1(y["test"][:, j], refit.predict(x["test"]))])
        print(f"\nself-training: the preset's head marks {marked} of {len(unlabelled)} unlabelled texts {label}; "
              "its top k added as positives\n")
        print(table(["k", "valid F1", "test F1 [95% interval]"], rows))
        more.append((f"`{label}`: self-training; the preset's head marks {marked} of {len(unlabelled)} unlabelled "
                     f"texts {label}, its top k added to train as positives", ["k", "valid F1",
                                                                               "test F1 [95% interval]"], rows))
        numbers["labels"][label] = {"texts": counts, "heads": heads_rows, "picked": best, "curve": curve,  # type: ignore[index]
                                    "marked": marked, "self_training": rows}
    headers = ["label", "train/valid/test texts", "preset valid F1", "preset test F1 [95% interval]",
               "picked on valid", "its valid F1", "its test F1 [95% interval]"]
    note = ("`mlkit preset ru_emotion && dvc repro`, then each rare label's head refitted alone on the preset's "
            f"features (the preset's head: {preset.type} C={preset.C:g} at its own cut); the pick: the head and "
            "cut with the best valid F1")
    print(f"written: {record('rare_labels', numbers, headers, summary, note=note, more=more)}")
    figure = plot("rare_labels", curves, x_label="the label's train texts", y_label="test F1 (mean ± sd over draws)",
                  title="ru_emotion: rare labels' test F1 against their train texts", ylim=(0, 1))
    print(f"written: {figure}")


if __name__ == "__main__":
    main()
