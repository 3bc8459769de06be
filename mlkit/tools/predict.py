"""predict: a saved model on any file in the fetch formats -> predictions CSV (+ metrics if labelled).

    mlkit predict INPUT [--model models/model] [--output FILE | --force]
        [--format auto|csv|tsv|jsonl|parquet|lines] [--sep ,] [--no-header] [--encoding utf-8]
        [--text-column NAME] [--label-column NAME | --label-columns a,b,c]

The text and label columns default to those the model was trained on (its card.json). Texts that were in
the model's training data are counted and named in a warning: their scores overstate the model.
Not a DVC stage: a tool for using a trained model on new data.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pandas as pd
from pydantic import ValidationError

from mlkit.core import paths
from mlkit.core.errors import PipelineError, UsageError
from mlkit.core.io import md5_file, read_table, replacing
from mlkit.core.params import FileSource
from mlkit.core.source_params import (
    Columns,
    Format,
    column_name_problem,
    encoding_problem,
    separator_problem,
    suffix_format,
)
from mlkit.core.table import dedupe_key
from mlkit.core.text_table import text_table
from mlkit.data.dataset import normalise_whitespace
from mlkit.data.sources import read_file_table, select_columns
from mlkit.modeling.base import CARD_FILE, Model, ModelCard, load_model, read_card
from mlkit.modeling.metrics import PREDICTION_SEPARATOR, classification_metrics

DEFAULT_OUTPUT = "predictions.csv"
FORMATS: tuple[Format, ...] = get_args(Format)
# The option that sets each FileSource field, for the schema's errors.
OPTIONS = {"path": "input", "format": "--format", "sep": "--sep", "header": "--no-header", "encoding": "--encoding",
           "text_column": "--text-column", "label_column": "--label-column", "label_columns": "--label-columns"}
COLUMN_OPTIONS = ("text_column", "label_column", "label_columns")


@dataclass(frozen=True)
class PredictOptions:
    """What `mlkit predict` is asked to do (the command line builds it: mlkit/cli)."""

    input: str
    model: str = paths.MODEL
    output: str | None = None
    force: bool = False
    format: Format = "auto"
    sep: str | None = None
    header: bool = True
    encoding: str = "utf-8"
    text_column: str | None = None
    label_column: str | None = None
    label_columns: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"mlkit predict: --format: {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.label_column is not None and self.label_columns is not None:
            raise UsageError("mlkit predict: --label-column, --label-columns: give one (a label column, or "
                             "multilabel 0/1 columns)")


def card_columns_shown(model: str) -> dict[str, str]:
    """For --help: the column names the model at `model` was trained on, per column option (nothing without a
    readable card: a missing or broken card is predict's error to report, not --help's)."""
    try:
        known = card_columns(read_card(model))
    except PipelineError:
        return {}
    return {key: ",".join(v) if isinstance(v, list) else str(v) for key, v in known.items() if v}


def column_names(value: str) -> list[str]:
    """A column option's names: comma-separated, spaces around each dropped."""
    return [name.strip() for name in value.split(",")]


def check_options(options: PredictOptions) -> None:
    """The options that name an encoding, a separator or columns, checked before any work with the schema's
    own checks (source_params), each error naming its option."""
    problem = encoding_problem(options.encoding)
    if problem:
        raise PipelineError(f"--encoding: {problem}")
    fmt = suffix_format(options.format, options.input)
    problem = separator_problem(options.sep, fmt, None,
                                "read the file with --format tsv, which has no quote processing")
    if problem:
        raise PipelineError(f"--sep: {problem}")
    for field in COLUMN_OPTIONS:
        value = getattr(options, field)
        if value is None:
            continue
        option = OPTIONS[field]
        if fmt == "lines" and value != {"text_column": "text", "label_column": "label"}.get(field):
            raise PipelineError(f"{option}: a lines file has no named columns: each line is text{options.sep or ';'}"
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


def columns_for(options: PredictOptions,
                card: dict[str, Any]) -> tuple[str | list[str], str | None, list[str] | None]:
    """(text, label, labels) columns: the command line first, then the model card, then text/label; a lines
    file's are always text and label."""
    if suffix_format(options.format, options.input) == "lines":
        return "text", "label", None
    known = card_columns(card)
    given = (column_names(options.text_column) if options.text_column is not None and "," in options.text_column
             else options.text_column)
    text = given if given is not None else known.get("text_column") or "text"
    if options.label_columns is not None:
        return text, None, column_names(options.label_columns)
    if options.label_column is not None:
        return text, options.label_column, None
    if known.get("label_columns"):
        return text, None, list(known["label_columns"])
    return text, known.get("label_column") or "label", None


def trained_columns(card: ModelCard) -> Columns:
    """The text column(s) and delimiter the model was trained on (its card), no labels: what a caller that
    only has texts (mlkit serve) joins and cleans exactly as predict does."""
    known = card.columns if isinstance(card.columns, dict) else {}
    try:  # checked as a source's columns are (a label column is required there: none is read here)
        spec = Columns(text_column=known.get("text_column") or "text",
                       text_column_delimiter=known.get("text_column_delimiter", " "))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PipelineError(f"{CARD_FILE}: `columns.{'.'.join(map(str, first['loc']))}`: "
                            f"{first['msg'].removeprefix('Value error, ')}") from None
    return spec.model_copy(update={"label_column": None})


def model_frame(table: pd.DataFrame, spec: Columns, location: str, fmt: str = "") -> pd.DataFrame:
    """The rows as the model reads them: the text column(s) joined as in training, whitespace normalised as
    fetch cleans it (the labels too, when `spec` names them). predict and serve both build their input here."""
    frame = select_columns(table, spec, location, fmt)
    frame["text"] = normalise_whitespace(frame["text"])
    return frame


def output_path(options: PredictOptions) -> Path:
    """--output as given (the user named it), else predictions.csv, which is never silently overwritten."""
    if options.output is not None:
        output = Path(options.output)
    else:
        output = Path(DEFAULT_OUTPUT)
        if output.exists() and not options.force:
            raise PipelineError(f"{output} exists: name the output with --output FILE, or overwrite it with --force")
    if output.exists() and output.resolve() == Path(options.input).resolve():
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
    table = text_table([], [[name, f"{value:.4f}"] for name, value in scores.items()])
    return f"predict: scores on {rows} labelled rows\n" + textwrap.indent(table, "  ")


def predict(options: PredictOptions) -> None:
    check_options(options)
    output = output_path(options)  # before any work: a refused output wastes nothing
    model: Model = load_model(options.model)
    card = model.card
    text, label, label_list = columns_for(options, card)
    try:
        spec = FileSource(kind="file", path=options.input, format=options.format, sep=options.sep,
                          header=options.header, encoding=options.encoding, text_column=text, label_column=label,
                          label_columns=label_list,
                          text_column_delimiter=card_columns(card).get("text_column_delimiter", " "))
    except ValidationError as exc:
        raise spec_error(exc, label_list) from None
    table, fmt = read_file_table(spec, role="the file to predict")
    shown = ", ".join(table.columns[:20])
    if fmt in ("csv", "tsv") and len(table.columns) == 1:
        shown += " (the only one: is --sep right?)"
    missing = [name for name in spec.text_columns if name not in table.columns]
    if fmt != "lines" and missing:
        source = "--text-column" if options.text_column else "the model's text column (--text-column NAME)"
        raise PipelineError(f"{spec.path}: no column {', '.join(map(repr, missing))}, {source}; columns are: {shown}")
    wanted = spec.label_columns or ([spec.label_column] if spec.label_column else [])
    missing = [name for name in wanted if name not in table.columns]
    labelled = fmt == "lines" or not missing
    if missing and (options.label_column is not None or options.label_columns is not None):  # asked for: not skipped
        option = "--label-columns" if options.label_columns is not None else "--label-column"
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
    frame = model_frame(table, spec, spec.path, fmt)
    if frame.empty:
        raise PipelineError(f"{spec.path}: no rows to predict (the file is empty or holds only a header)")
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
    warning = training_overlap(Path(options.model), card, frame["text"])
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if labelled:
        scores = classification_metrics(truth, predicted, model.task, model.labels, model.positive_label)
        scores.pop("per_class")
        print(metrics_table(scores, len(out)))

