"""predict: a saved model on any file in the fetch formats -> predictions CSV (+ metrics if labelled).

    mlkit predict INPUT [--model models/model] [--output FILE | --force]
        [--format auto|csv|tsv|jsonl|parquet|lines] [--sep ,] [--no-header] [--encoding utf-8]
        [--text-column NAME] [--label-column NAME | --label-columns a,b,c]

The text and label columns default to those the model was trained on (its card.json). Texts that were in
the model's training data are counted and named in a warning: their scores overstate the model.
Not a DVC stage: a tool for using a trained model on new data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
from pydantic import ValidationError

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import md5_file, read_table, replacing
from mlkit.core.params import FileSource
from mlkit.core.source_params import column_name_problem, encoding_problem, separator_problem, suffix_format
from mlkit.core.table import dedupe_key
from mlkit.data.dataset import normalise_whitespace
from mlkit.data.sources import read_file_table, select_columns
from mlkit.modeling.base import Model, load_model, read_card
from mlkit.modeling.metrics import PREDICTION_SEPARATOR, classification_metrics

DEFAULT_OUTPUT = "predictions.csv"
FROM_CARD = "default: the column the model was trained on (its card.json), else %s"
FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "lines")
# The option that sets each FileSource field, for the schema's errors.
OPTIONS = {"path": "input", "format": "--format", "sep": "--sep", "header": "--no-header", "encoding": "--encoding",
           "text_column": "--text-column", "label_column": "--label-column", "label_columns": "--label-columns"}
COLUMN_OPTIONS = ("text_column", "label_column", "label_columns")


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default in --help; an option whose default is worked out at run time says so in its own words."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one `error:` line like every other failure."""

    def error(self, message: str) -> NoReturn:
        raise PipelineError(f"{self.prog}: {message} (--help for the options)")


def columns_shown(argv: list[str] | None) -> dict[str, str]:
    """For --help: what --model's card names per column option (nothing without a readable card, or when
    help is not asked for: a run reads the card once, in load_model)."""
    args = sys.argv[1:] if argv is None else argv
    if not {"-h", "--help"} & set(args):
        return {}
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model", default=paths.MODEL)
    model = pre.parse_known_args(args)[0].model
    try:
        known = card_columns(read_card(model))
    except PipelineError:  # a missing or broken card is predict's error to report, not --help's
        return {}
    shown = {key: ",".join(v) if isinstance(v, list) else str(v) for key, v in known.items() if v}
    return {key: f" (in {model}: {value})" for key, value in shown.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    shown = columns_shown(argv)
    parser = Parser(prog="mlkit predict", description=__doc__.split("\n\n")[0],
                    formatter_class=Formatter)
    parser.add_argument("input", help="file to classify")
    parser.add_argument("--model", default=paths.MODEL, help="saved model folder")
    parser.add_argument("--output", default=None,
                        help=f"where to write predictions (CSV); default: {DEFAULT_OUTPUT}, which is never "
                             "overwritten unless --force")
    parser.add_argument("--force", action="store_true", help=f"overwrite an existing {DEFAULT_OUTPUT}")
    parser.add_argument("--format", default="auto", choices=FORMATS,
                        help="csv, tsv, jsonl, parquet or lines; auto: from the name")
    parser.add_argument("--sep", default=None, help="column separator (csv) or text/label separator (lines)")
    parser.add_argument("--no-header", action="store_true", help="the file has no header row")
    parser.add_argument("--encoding", default="utf-8", help="the file's text encoding")
    parser.add_argument("--text-column", default=None, help="several: comma-separated, joined as in training; "
                        + FROM_CARD % "text" + shown.get("text_column", ""))
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--label-column", default=None, help="labels to score against (the default one: if the "
                        "file has it); " + FROM_CARD % "label" + shown.get("label_column", ""))
    labels.add_argument("--label-columns", default=None, help="multilabel: comma-separated 0/1 columns; "
                        + FROM_CARD % "none" + shown.get("label_columns", ""))
    return parser.parse_args(argv)


def column_names(value: str) -> list[str]:
    """A column option's names: comma-separated, spaces around each dropped."""
    return [name.strip() for name in value.split(",")]


def check_options(args: argparse.Namespace) -> None:
    """The options that name an encoding, a separator or columns, checked before any work with the schema's
    own checks (source_params), each error naming its option."""
    problem = encoding_problem(args.encoding)
    if problem:
        raise PipelineError(f"--encoding: {problem}")
    fmt = suffix_format(args.format, args.input)
    problem = separator_problem(args.sep, fmt, None, "read the file with --format tsv, which has no quote processing")
    if problem:
        raise PipelineError(f"--sep: {problem}")
    for field in COLUMN_OPTIONS:
        value = getattr(args, field)
        if value is None:
            continue
        option = OPTIONS[field]
        if fmt == "lines" and value != {"text_column": "text", "label_column": "label"}.get(field):
            raise PipelineError(f"{option}: a lines file has no named columns: each line is text{args.sep or ';'}"
                                f"label; remove it (got {value!r})")
        problem = column_name_problem(column_names(value) if "," in value or field == "label_columns" else [value])
        if problem:
            raise PipelineError(f"{option}: {problem} (got {value!r})")


def spec_error(exc: ValidationError, label_list: list[str] | None) -> PipelineError:
    """The schema's first complaint about the FileSource predict built, naming the option to change."""
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # the columns together: a text column that is also a label column
        return PipelineError(f"--text-column, {'--label-columns' if label_list else '--label-column'}: {message}")
    option = OPTIONS.get(str(error["loc"][0]), str(error["loc"][0]))
    got = "" if "got" in message else f" (got {error['input']!r})"
    return PipelineError(f"{option}: {message}{got}")


def card_columns(card: dict[str, Any]) -> dict[str, Any]:
    """The text and label columns the model was trained on, as the train stage recorded them."""
    columns = card.get("columns")
    return columns if isinstance(columns, dict) else {}


def columns_for(args: argparse.Namespace,
                card: dict[str, Any]) -> tuple[str | list[str], str | None, list[str] | None]:
    """(text, label, labels) columns: the command line first, then the model card, then text/label; a lines
    file's are always text and label."""
    if suffix_format(args.format, args.input) == "lines":
        return "text", "label", None
    known = card_columns(card)
    given = (column_names(args.text_column) if args.text_column is not None and "," in args.text_column
             else args.text_column)
    text = given if given is not None else known.get("text_column") or "text"
    if args.label_columns is not None:
        return text, None, column_names(args.label_columns)
    if args.label_column is not None:
        return text, args.label_column, None
    if known.get("label_columns"):
        return text, None, list(known["label_columns"])
    return text, known.get("label_column") or "label", None


def output_path(args: argparse.Namespace) -> Path:
    """--output as given (the user named it), else predictions.csv, which is never silently overwritten."""
    if args.output is not None:
        output = Path(args.output)
    else:
        output = Path(DEFAULT_OUTPUT)
        if output.exists() and not args.force:
            raise PipelineError(f"{output} exists: name the output with --output FILE, or overwrite it with --force")
    if output.exists() and output.resolve() == Path(args.input).resolve():
        raise PipelineError(f"{output}: is the input file; name another --output")
    return output


def training_overlap(model_dir: Path, card: dict[str, Any], texts: pd.Series) -> str | None:
    """A warning when input texts were in the model's training data (the card's train_data file)."""
    train = card.get("train_data")
    if not isinstance(train, dict) or not isinstance(train.get("path"), str):
        return None
    relative = Path(train["path"])
    # The card's path is relative to the project root: the working folder, or the one holding models/NAME.
    found = next((p for p in (relative, model_dir.resolve().parents[1] / relative) if p.is_file()), None)
    if found is None or (train.get("md5") and md5_file(found) != train["md5"]):
        return (f"cannot check the input against the model's training data ({train['path']} is missing or "
                "changed since training)")
    trained = read_table(found)
    if "text" not in trained.columns:
        return None
    seen = set(dedupe_key(trained["text"].astype(str)))
    overlap = int(dedupe_key(texts).isin(seen).sum())
    if overlap:
        return (f"{overlap} of {len(texts)} input texts were in the model's training data ({train['path']}); "
                "scores on them overstate the model")
    return None


def metrics_table(scores: dict[str, float], rows: int) -> str:
    width = max(map(len, scores))
    lines = [f"  {name:<{width}}  {value:.4f}" for name, value in scores.items()]
    return "\n".join([f"predict: scores on {rows} labelled rows", *lines])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    check_options(args)
    output = output_path(args)  # before any work: a refused output wastes nothing
    model: Model = load_model(args.model)
    card = model.card
    text, label, label_list = columns_for(args, card)
    try:
        spec = FileSource(kind="file", path=args.input, format=args.format, sep=args.sep, header=not args.no_header,
                          encoding=args.encoding, text_column=text, label_column=label, label_columns=label_list,
                          text_column_delimiter=card_columns(card).get("text_column_delimiter", " "))
    except ValidationError as exc:
        raise spec_error(exc, label_list) from None
    table, fmt = read_file_table(spec, role="the file to predict")
    shown = ", ".join(table.columns[:20])
    if fmt in ("csv", "tsv") and len(table.columns) == 1:
        shown += " (the only one: is --sep right?)"
    missing = [name for name in spec.text_columns if name not in table.columns]
    if fmt != "lines" and missing:
        source = "--text-column" if args.text_column else "the model's text column (--text-column NAME)"
        raise PipelineError(f"{spec.path}: no column {', '.join(map(repr, missing))}, {source}; columns are: {shown}")
    wanted = spec.label_columns or ([spec.label_column] if spec.label_column else [])
    missing = [name for name in wanted if name not in table.columns]
    labelled = fmt == "lines" or not missing
    if missing and (args.label_column is not None or args.label_columns is not None):  # asked for: not skipped
        option = "--label-columns" if args.label_columns is not None else "--label-column"
        raise PipelineError(f"{spec.path}: no column {', '.join(map(repr, missing))}, {option}; columns are: {shown}")
    if labelled and (model.task == "multilabel") != bool(spec.label_columns):  # scored as the model predicts
        if fmt == "lines":
            raise PipelineError(f"{spec.path}: a lines file has one label per text, and the model is multilabel; "
                                "give its labels as 0/1 columns (--label-columns) of a csv")
        option, wanted_here = (("--label-columns", "one label column (--label-column NAME)") if spec.label_columns
                               else ("--label-column", "0/1 columns, one per label (--label-columns a,b,c)"))
        raise PipelineError(f"{option}: the model is {model.task}: the labels to score against are {wanted_here}")
    if not labelled:
        spec = spec.model_copy(update={"label_column": None, "label_columns": None})
    frame = select_columns(table, spec, spec.path, fmt)
    if frame.empty:
        raise PipelineError(f"{spec.path}: no rows to predict (the file is empty or holds only a header)")
    frame["text"] = normalise_whitespace(frame["text"])
    key = "labels" if model.task == "multilabel" else "label"
    truth = list(frame[key]) if labelled else []
    mapping = card.get("label_map") or {}  # data.label_map as the model was trained: the file's labels mapped so
    if mapping:
        truth = [[mapping.get(v, v) for v in t] if key == "labels" else mapping.get(t, t) for t in truth]
    if labelled:
        unknown = sorted({v for v in (truth if key == "label" else sum(truth, [])) if v not in model.labels})
        if unknown:
            raise PipelineError(f"{spec.path}: labels the model does not know: {', '.join(unknown[:5])}; "
                                f"it knows {', '.join(model.labels[:10])}")
    predicted = model.predict(frame)
    shown_value = PREDICTION_SEPARATOR.join if model.task == "multilabel" else str
    out = pd.DataFrame({"text": frame["text"], "prediction": [shown_value(p) for p in predicted]})
    if labelled:
        out.insert(1, "label", [shown_value(v) for v in truth])
    with replacing(output) as tmp:
        out.to_csv(tmp, index=False)
    print(f"predict: {len(out)} rows -> {output}")
    warning = training_overlap(Path(args.model), card, frame["text"])
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if labelled:
        scores = classification_metrics(truth, predicted, model.task, model.labels, model.positive_label)
        scores.pop("per_class")
        print(metrics_table(scores, len(out)))


if __name__ == "__main__":
    run_main(main)
