"""predict: a saved model on any file in the fetch formats -> predictions CSV (+ metrics if labelled).

    mlkit predict INPUT [--model models/model] [--output predictions.csv]
        [--format auto|csv|tsv|jsonl|parquet|lines] [--sep ,] [--no-header]
        [--text-column text] [--label-column label | --label-columns a,b,c]

Not a DVC stage: a tool for using a trained model on new data.
"""

import argparse
import json
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.params import FileSource
from mlkit.data.dataset import normalise_whitespace
from mlkit.data.sources import read_file_table, select_columns
from mlkit.modeling.base import load_model
from mlkit.modeling.metrics import PREDICTION_SEPARATOR, classification_metrics


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlkit predict", description=__doc__.splitlines()[0])
    parser.add_argument("input", help="file to classify")
    parser.add_argument("--model", default=paths.MODEL, help="saved model folder (default: %(default)s)")
    parser.add_argument("--output", default="predictions.csv", help="where to write predictions (CSV)")
    parser.add_argument("--format", default="auto", help="csv, tsv, jsonl, parquet or lines (default: from the name)")
    parser.add_argument("--sep", default=None, help="column separator (csv) or text/label separator (lines)")
    parser.add_argument("--no-header", action="store_true", help="the file has no header row")
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label", help="labels to score against, if the file has them")
    parser.add_argument("--label-columns", default=None, help="multilabel: comma-separated 0/1 columns")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    model = load_model(args.model)
    try:
        spec = FileSource(kind="file", path=args.input, format=args.format, sep=args.sep, header=not args.no_header,
                          encoding=args.encoding, text_column=args.text_column, label_column=args.label_column,
                          label_columns=args.label_columns.split(",") if args.label_columns else None)
    except ValidationError as exc:
        raise PipelineError(f"predict: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    table, fmt = read_file_table(spec, role="the file to predict")
    labelled = fmt == "lines" or all(c in table.columns for c in (spec.label_columns or (spec.label_column,)))
    if not labelled:
        spec = spec.model_copy(update={"label_column": None, "label_columns": None})
    frame = select_columns(table, spec, spec.path, fmt)
    frame["text"] = normalise_whitespace(frame["text"])
    predicted = model.predict(frame)
    shown = PREDICTION_SEPARATOR.join if model.task == "multilabel" else str
    out = pd.DataFrame({"text": frame["text"], "prediction": [shown(p) for p in predicted]})
    key = "labels" if model.task == "multilabel" else "label"
    if labelled:
        out.insert(1, "label", [shown(v) for v in frame[key]])
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.output, index=False)
    print(f"predict: {len(out)} rows -> {args.output}")
    if labelled:
        truth = list(frame[key])
        unknown = sorted({v for v in (truth if key == "label" else sum(truth, [])) if v not in model.labels})
        if unknown:
            raise PipelineError(f"{spec.path}: labels the model does not know: {', '.join(unknown[:5])}")
        scores = classification_metrics(truth, predicted, model.task, model.labels, model.positive_label)
        scores.pop("per_class")
        print(json.dumps(scores, indent=2))


if __name__ == "__main__":
    run_main(main)
