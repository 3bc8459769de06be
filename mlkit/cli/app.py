"""The `mlkit` Typer app and the options several commands share (spelled once)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mlkit.tools.experiments.search_options import Direction

# `mlkit --help` lists the commands in the order a user meets them, not in the order modules register them.
ORDER = ("predict", "serve", "preset", "import", "sweep", "search", "retrain", "resplit", "registry", "report",
         "remote", "offline-plots", "wordnet")


class Commands(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:  # Any: the Context of the Click Typer vendors
        return sorted(super().list_commands(ctx), key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


app = typer.Typer(name="mlkit", cls=Commands,
                  help="Tools around the DVC pipeline: predict, presets, imports, sweeps, searches, the registry, "
                  "retraining, review reports and remotes. `mlkit COMMAND --help` for each.",
                  add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})

# Options that `search` and `retrain` share, spelled once.
Metric = Annotated[str | None, typer.Option(
    metavar="KEY", help="the metric to optimise, a key of metrics/eval/metrics.json, never test.* (default: "
    "valid.METRIC for params.yaml's compare.metric)")]
DirectionOption = Annotated[Direction, typer.Option(help="whether a higher or lower metric is better")]
Storage = Annotated[str, typer.Option(metavar="URL", help="an Optuna RDB (SQLAlchemy) URL holding the study")]
Space = Annotated[list[str], typer.Option(
    metavar="KEY=KIND:ARGS", help="a dimension of the search: float:LOW:HIGH | log:LOW:HIGH | int:LOW:HIGH | "
    "choice:A,B,...; repeat per key")]
Gpus = Annotated[str | None, typer.Option(
    metavar="0,1,...", help="GPUs the parallel experiments share, one each (a transformer experiment waits for "
    "a free one); sets MLKIT_GPUS for the queue's workers")]
