"""evaluate: score models/model on train, valid and test; headline metrics (compare.metric per split, test
accuracy), plots and test predictions via dvclive; every averaging and the gap in scores.json."""

from pathlib import Path

import numpy as np
from dvclive import Live

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import read_table, replacing, write_json
from mlkit.core.params import PARAMS_FILE, load_params, metric_problem
from mlkit.modeling.base import indicator, load_model
from mlkit.modeling.metrics import classification_metrics, predictions_frame

GAP_METRICS = ("accuracy", "f1_macro", "f1_weighted", "f1")


def confusion_pairs(truth: list, predicted: list, task: str) -> tuple[list[str], list[str]]:
    """(actual, predicted) pairs; a multilabel row gives one pair per true x predicted label."""
    if task != "multilabel":
        return list(truth), list(predicted)
    actual, guessed = [], []
    for true_set, pred_set in zip(truth, predicted):
        for t in true_set:
            for p in pred_set or ["(none)"]:
                actual.append(t)
                guessed.append(p)
    return actual, guessed


def curve_inputs(truth: list, scores: np.ndarray, task: str, labels: list[str], positive: str | None):
    """Binary with a positive class: that class. Otherwise (a binary pair without one too) one-vs-rest,
    micro-averaged over labels."""
    if task == "binary" and positive is not None:
        return np.asarray([t == positive for t in truth], dtype=int), scores[:, labels.index(positive)]
    matrix = indicator(truth if task == "multilabel" else [[t] for t in truth], labels)
    return matrix.ravel(), scores.ravel()


def headline(results: dict[str, dict], metric: str) -> dict[str, dict[str, float]]:
    """What `dvc metrics show` and `dvc exp show` read: the project's metric (compare.metric) on each split and
    the test accuracy, so the table fits a terminal; every other figure is in scores.json."""
    chosen = {split: {metric: results[split][metric]} for split in paths.SPLITS}
    chosen["test"]["accuracy"] = results["test"]["accuracy"]
    return chosen


def main() -> None:
    params = load_params()
    settings, metric = params.evaluate, params.compare.metric
    model = load_model(paths.MODEL)
    task, labels, positive = model.task, model.labels, model.positive_label
    problem = metric_problem(metric, task, positive)  # an experiment may change it without rerunning fetch
    if problem:
        raise PipelineError(f"{PARAMS_FILE}: {problem}")
    key = "labels" if task == "multilabel" else "label"
    with replacing(paths.EVAL, is_dir=True) as folder:
        live = Live(str(folder), dvcyaml=False, save_dvc_exp=False)
        results, sampled = {}, None
        for split in paths.SPLITS:
            frame = read_table(paths.split(split))
            if split == "train" and settings.train_rows is not None and len(frame) > settings.train_rows:
                sampled = (settings.train_rows, len(frame))
                frame = frame.sample(n=settings.train_rows, random_state=settings.seed)
            truth = [list(v) if task == "multilabel" else v for v in frame[key]]
            predicted = model.predict(frame)
            results[split] = classification_metrics(truth, predicted, task, labels, positive)
            if split == "test":
                test_frame, test_truth, test_predicted = frame, truth, predicted
        gap = {name: results["train"][name] - results["test"][name] for name in GAP_METRICS if name in results["test"]}
        for split, values in headline(results, metric).items():
            for name, value in values.items():
                live.log_metric(f"{split}/{name}", value, plot=False)
        scores = {split: {k: v for k, v in results[split].items() if k != "per_class"} for split in paths.SPLITS}
        if sampled:
            scores["train"]["sampled_rows"] = sampled[0]
        write_json(folder / Path(paths.SCORES).name, {**scores, "gap": gap})
        # Per-class figures (labels x 4 x 3 splits) in their own file: `dvc metrics show metrics/eval/per_class.json`.
        write_json(folder / Path(paths.PER_CLASS).name,
                   {split: {"per_class": results[split]["per_class"]} for split in paths.SPLITS})

        # Plots and predictions describe the test split: the one a reviewer judges the model on.
        frame, truth, predicted = test_frame, test_truth, test_predicted
        live.log_sklearn_plot("confusion_matrix", *confusion_pairs(truth, predicted, task),
                              name="confusion_matrix.json")
        y_curve, s_curve = curve_inputs(truth, model.scores(frame), task, labels, positive)
        live.log_sklearn_plot("roc", y_curve, s_curve, name="roc.json")
        live.log_sklearn_plot("precision_recall", y_curve, s_curve, name="precision_recall.json")
        per_class = [{"class": label, "f1": v["f1"]} for label, v in results["test"]["per_class"].items()]
        live.log_plot("per_class_f1", per_class, x="f1", y="class", template="bar_horizontal")
        live.make_summary()

        predictions_frame(frame, truth, predicted, task).to_csv(folder / "predictions.csv", index=False)
    print(summary(results, gap, sampled))


def summary(results: dict[str, dict], gap: dict[str, float], sampled: tuple[int, int] | None = None) -> str:
    """Train, valid and test side by side with the train - test gap: over-fitting shows at a glance."""
    names = [name for name in results["test"] if name != "per_class"]
    width = [max(len(name), 7) for name in names]
    rows = [("", names), *((split, [f"{results[split][n]:.4f}" for n in names]) for split in paths.SPLITS),
            ("gap", [f"{gap[n]:+.4f}" if n in gap else "-" for n in names])]
    lines = [f"  {first:<5}" + "".join(f"  {cell:>{w}}" for cell, w in zip(cells, width)) for first, cells in rows]
    if sampled:
        lines.append(f"  train: a sample of {sampled[0]:,} of its {sampled[1]:,} rows (evaluate.train_rows)")
    return "\n".join(["evaluate: scores per split (gap = train - test; a large gap is over-fitting)", *lines])


if __name__ == "__main__":
    run_main(main)
