"""The new model against a champion on the same test split: a paired bootstrap, a decision and its report.

A paired bootstrap of `compare.metric`: both models' predictions on the same resampled test rows, so the
interval is about the difference, not about how hard the split is. The champion is re-scored on the
current test split unless its own predictions were made on exactly these rows; a champion of another task
(other labels or inputs) is not compared at all, and kept. The compare stage judges
against the registry's champion; the review report (mlkit report) against the base when there is none.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.params import CompareParams, task_metrics
from mlkit.core.table import dedupe_key, has_text
from mlkit.modeling.base import load_model
from mlkit.modeling.card import CARD_FILE, ModelCard
from mlkit.modeling.champion import Champion, model_at, read_at
from mlkit.modeling.metrics import (
    PairedBootstrap,
    classification_metrics,
    label_sets,
    paired_bootstrap,
    predictions_frame,
)

ROW_COLUMNS = ["id", "text", "label"]  # the same test rows, in the same order
CHAMPION_TRAIN = paths.split("train")  # before augmentation: the texts themselves


@dataclass(frozen=True)
class Verdict:
    decision: str         # promote | keep
    markdown: str         # metrics/compare.md
    record: dict[str, Any]  # metrics/compare.json


class Incomparable(Exception):  # noqa: N818 - a verdict, not a failure
    """The champion is a model of something else (another task's labels or inputs): no score compares them."""


def labels_shown(labels: list[str]) -> str:
    return ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")


def check_comparable(champion: Champion, card: ModelCard) -> None:
    """Raise Incomparable when the champion's card names another task or other labels than `card`."""
    saved = read_at(f"{paths.MODEL}/{CARD_FILE}", champion.rev)
    if saved is None:  # champion_predictions says what it cannot read
        return
    try:
        theirs = json.loads(saved)
        task, labels = theirs["task"], [str(label) for label in theirs["labels"]]
    except (ValueError, KeyError, TypeError):
        raise PipelineError(f"champion at {champion.rev[:12]}: {paths.MODEL}/{CARD_FILE} is not a model card") from None
    if task != card.task or sorted(labels) != sorted(card.labels):
        raise Incomparable(f"it is a {task} model of {labels_shown(labels)}; this one a {card.task} model of "
                           f"{labels_shown(card.labels)}")


def champion_predictions(champion: Champion, test: pd.DataFrame, truth: list,
                         task: str) -> tuple[list, np.ndarray, str]:
    """The champion's predictions on the test rows, which rows count, and how they were obtained.

    Its own saved predictions when they cover exactly these rows; otherwise its model re-scores the
    current test split, and rows it was trained on (another split put them in its train) are left out.
    """
    saved = read_at(paths.PREDICTIONS, champion.rev)
    if saved is not None:
        theirs = pd.read_csv(io.BytesIO(saved), dtype=str, keep_default_na=False)
        ours = predictions_frame(test, truth, truth, task).astype(str)
        if set(ROW_COLUMNS) <= set(theirs.columns) and theirs[ROW_COLUMNS].equals(ours[ROW_COLUMNS]):
            return label_sets(theirs, task)["prediction"].tolist(), np.ones(len(test), bool), \
                "its own predictions on this same test split"
    trained_on = read_at(CHAMPION_TRAIN, champion.rev)
    if trained_on is None:
        raise PipelineError(f"champion at {champion.rev[:12]}: cannot read {CHAMPION_TRAIN}, so the test rows it "
                            "trained on cannot be told apart; `dvc pull` its data or check the remote")
    champion_train = pd.read_parquet(io.BytesIO(trained_on))
    if has_text(champion_train) != has_text(test):
        reads = {True: "texts", False: "numeric features"}
        raise Incomparable(f"it reads {reads[has_text(champion_train)]}; this one {reads[has_text(test)]}")
    seen = set(row_key(champion_train))
    unseen = ~row_key(test).isin(seen).to_numpy()
    if not unseen.any():
        raise PipelineError(f"champion at {champion.rev[:12]}: trained on every row of the current test split; "
                            "nothing is left to compare on (split.seed or the data differ from its run)")
    with model_at(champion.rev) as folder:
        predicted = load_model(folder).predict(test)
    return predicted, unseen, (f"re-scored on the {int(unseen.sum())} of {len(test)} current test rows it did "
                               "not train on")


def row_key(frame: pd.DataFrame) -> pd.Series:
    """What makes two rows the same example: the text, or the row id for numeric data (digits)."""
    return dedupe_key(frame["text"]) if has_text(frame) else frame["id"].astype(str)


def decide(result: PairedBootstrap | None, params: CompareParams) -> tuple[str, str]:
    """promote only when the whole interval lies above `min_gain`; no champion at all: promote."""
    if result is None:
        return "promote", "there is no champion yet"
    level = f"{params.level:.0%}"
    if result.low > params.min_gain:
        return "promote", (f"the new model is better: the {level} interval of the difference lies above "
                           f"{params.min_gain:g}")
    if result.high < 0:
        return "keep", f"the new model is worse: the {level} interval of the difference lies below 0"
    return "keep", f"no clear gain: the {level} interval of the difference does not lie above {params.min_gain:g}"


def markdown(champion: Champion | None, how: str, result: PairedBootstrap | None, decision: str, reason: str,
             table: list[tuple[str, float | None, float]], params: CompareParams) -> str:
    metric = params.metric
    verdict = f"**Decision: {decision}.** {reason[0].upper()}{reason[1:]}."
    if champion is None:
        lines = [f"No champion: nothing is assigned to stage `{params.champion_stage}` of the registry.", verdict]
    elif result is None:  # a champion of another task: nothing to bootstrap
        lines = [f"Champion: {champion.described} (commit `{champion.rev[:12]}`).", "", verdict]
    else:
        lines = [f"Champion: {champion.described} (commit `{champion.rev[:12]}`), {how}.", "",
                 f"Test `{metric}`: champion {result.champion:.4f}, new {result.new:.4f}, difference "
                 f"**{result.difference:+.4f}** ({params.level:.0%} interval {result.low:+.4f} to {result.high:+.4f}, "
                 f"p = {result.p_value:.4f}, one-sided, {params.resamples} paired bootstrap resamples).", "", verdict]
    lines = ["# Champion vs challenger", "", *lines, ""]
    fmt = lambda v, sign="": "—" if v is None else f"{v:{sign}.4f}"  # noqa: E731
    lines += ["| test metric | champion | new | change |", "|---|---:|---:|---:|"]
    for name, old, new in table:
        shown = f"**{name}**" if name == metric else name
        lines.append(f"| {shown} | {fmt(old)} | {fmt(new)} | {fmt(None if old is None else new - old, '+')} |")
    return "\n".join(lines) + "\n"


def judge(champion: Champion | None, test: pd.DataFrame, new: list, card: ModelCard, params: CompareParams) -> Verdict:
    """The new model's test predictions `new` against `champion` (None: there is none), as compare reports it."""
    task, labels, positive = card.task, card.labels, card.positive_label
    truth = [list(v) for v in test["labels"]] if task == "multilabel" else test["label"].astype(str).tolist()
    result, how, old_scores, apart = None, "", {}, ""
    if champion is not None:
        try:
            check_comparable(champion, card)
            old, rows, how = champion_predictions(champion, test, truth, task)
        except Incomparable as exc:
            apart = str(exc)
        else:
            truth, new, old = ([v for v, keep in zip(values, rows) if keep] for values in (truth, new, old))
            result = paired_bootstrap(truth, new, old, params.metric, task, labels, positive,
                                      params.resamples, params.seed, params.level)
            old_scores = classification_metrics(truth, old, task, labels, positive)
    new_scores = classification_metrics(truth, new, task, labels, positive)
    decision, reason = decide(result, params)
    if apart:
        decision, reason = "keep", (f"the champion is a model of another task ({apart}), so the two cannot be "
                                    "compared; compare.champion_rev may name a commit of this one")
    table = [(str(name), old_scores.get(name), new_scores[name]) for name in task_metrics(task, positive)]
    record = {
        "champion": champion.described if champion else None,
        "champion_rev": champion.rev if champion else None,
        "metric": f"test.{params.metric}",
        "new": new_scores[params.metric],
        "rows": len(truth),
        **({"champion_score": result.champion, "difference": result.difference, "low": result.low,
            "high": result.high, "p_value": result.p_value} if result else {}),
        "resamples": params.resamples,
        "decision": decision,
        "promote": decision == "promote",
        "reason": reason,
    }
    return Verdict(decision, markdown(champion, how, result, decision, reason, table, params), record)
