"""evaluate: score models/model on train, valid and test; metrics, plots and test predictions via dvclive."""

import numpy as np
from dvclive import Live

from mlkit.core import paths
from mlkit.core.errors import run_main
from mlkit.core.io import read_table, replacing
from mlkit.core.params import load_params
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
    """Binary: the positive class. Otherwise one-vs-rest, micro-averaged over labels."""
    if task == "binary":
        assert positive is not None  # a binary model always names its positive label
        return np.asarray([t == positive for t in truth], dtype=int), scores[:, labels.index(positive)]
    matrix = indicator(truth if task == "multilabel" else [[t] for t in truth], labels)
    return matrix.ravel(), scores.ravel()


def main() -> None:
    load_params()  # the whole file is checked even though evaluate reads no section of it
    model = load_model(paths.MODEL)
    task, labels, positive = model.task, model.labels, model.positive_label
    key = "labels" if task == "multilabel" else "label"
    with replacing(paths.EVAL, is_dir=True) as folder:
        live = Live(str(folder), dvcyaml=False, save_dvc_exp=False)
        results = {}
        for split in paths.SPLITS:
            frame = read_table(paths.split(split))
            truth = [list(v) if task == "multilabel" else v for v in frame[key]]
            predicted = model.predict(frame)
            results[split] = classification_metrics(truth, predicted, task, labels, positive)
            if split == "test":
                test_frame, test_truth, test_predicted = frame, truth, predicted
            for name, value in results[split].items():
                if name == "per_class":
                    for label, values in value.items():
                        for metric, number in values.items():
                            live.log_metric(f"{split}/per_class/{label}/{metric}", number, plot=False)
                else:
                    live.log_metric(f"{split}/{name}", value, plot=False)
        for name in GAP_METRICS:
            if name in results["test"]:
                live.log_metric(f"gap/{name}", results["train"][name] - results["test"][name], plot=False)

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
    test = results["test"]
    print("evaluate: test " + ", ".join(f"{k} {v:.4f}" for k, v in test.items() if k != "per_class"))


if __name__ == "__main__":
    run_main(main)
