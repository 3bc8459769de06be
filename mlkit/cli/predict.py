"""`mlkit predict`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from mlkit.cli.app import app
from mlkit.core import paths
from mlkit.core.source_params import Format


# ---------------------------------------------------------------- predict
class PredictCommand(TyperCommand):
    """--help names the columns the --model's card was trained on, so the help shows the real defaults."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)  # --help is eager: --model is not parsed yet when help is printed
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from mlkit.tools.predict import card_columns_shown

        argv = ctx.meta.get("argv", [])
        model = paths.MODEL
        for i, arg in enumerate(argv):
            if arg == "--model" and i + 1 < len(argv):
                model = argv[i + 1]
            elif arg.startswith("--model="):
                model = arg.split("=", 1)[1]
        shown = card_columns_shown(model)
        for param in self.params:
            if param.name in shown and getattr(param, "help", None):
                param.help = f"{param.help} (in {model}: {shown[param.name]})"  # type: ignore[attr-defined]
        super().format_help(ctx, formatter)


FROM_CARD = "default: the column the model was trained on (its card.json), else "


@app.command(cls=PredictCommand)
def predict(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="the file to classify", show_default=False)],
    model: Annotated[str, typer.Option(metavar="DIR", help="saved model folder")] = paths.MODEL,
    output: Annotated[str | None, typer.Option(
        metavar="FILE", help="where to write predictions (CSV); default: predictions.csv, which is never "
        "overwritten unless --force")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing predictions.csv")] = False,
    format: Annotated[Format, typer.Option(
        metavar="auto|csv|tsv|jsonl|parquet|lines", help="the file's format; auto: from its name")] = "auto",
    sep: Annotated[str | None, typer.Option(
        metavar="SEP", help="column separator (csv) or text/label separator (lines)")] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="the file has no header row")] = False,
    encoding: Annotated[str, typer.Option(metavar="NAME", help="the file's text encoding")] = "utf-8",
    text_column: Annotated[str | None, typer.Option(
        metavar="NAME", help="several: comma-separated, joined as in training; " + FROM_CARD + "text")] = None,
    label_column: Annotated[str | None, typer.Option(
        metavar="NAME", help="labels to score against (the default one: if the file has it); " + FROM_CARD
        + "label")] = None,
    label_columns: Annotated[str | None, typer.Option(
        metavar="A,B,...", help="multilabel: comma-separated 0/1 columns; " + FROM_CARD + "none")] = None,
) -> None:
    """Classify a file with a saved model (and score it if labelled): predictions CSV, metrics if labelled.

    The text and label columns default to those the model was trained on (its card.json). Texts that were in
    the model's training data are counted and named in a warning: their scores overstate the model.
    """
    from mlkit.tools.predict import PredictOptions
    from mlkit.tools.predict import predict as run

    run(PredictOptions(input=input, model=model, output=output, force=force, format=format, sep=sep,
                       header=not no_header, encoding=encoding, text_column=text_column,
                       label_column=label_column, label_columns=label_columns))
