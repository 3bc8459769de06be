"""train: data/augmented/train.parquet (+ data/split/valid.parquet) -> models/model, metrics/train (dvclive).
The factory (mlkit.modeling.factory) builds the model params.yaml names; it saves its files and card.json.
With train.processes x train.nodes above 1 the stage launches itself through torchrun (mlkit.modeling.distributed):
every process trains, rank 0 writes into the folders this process swaps in."""

import sys
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from mlkit.core import paths
from mlkit.core.batches import row_count
from mlkit.core.errors import run_main
from mlkit.core.io import read_json, read_table, replacing
from mlkit.core.params import Params, SgdParams, check_for_data, load_params
from mlkit.modeling import distributed
from mlkit.modeling.base import Model
from mlkit.modeling.factory import DataFacts, build_model, build_warning, describe, uses_valid
from mlkit.modeling.incremental import fit_streamed, train_batches
from mlkit.modeling.sklearn_model import SklearnModel
from mlkit.modeling.training import data_facts, data_file, fit, timings_text, trained_record


def streamed(params: Params, data_card: dict[str, Any]) -> None:
    """data.streaming: the train file read batch by batch, twice or more (mlkit.modeling.incremental)."""
    rows = row_count(paths.AUGMENTED_TRAIN)
    facts = DataFacts(task=data_card["task"], labels=data_card["labels"], positive_label=data_card["positive_label"],
                      text=True, rows=rows)
    check_for_data(params, facts.task, facts.positive_label, facts.text)
    model = build_model(params, facts)
    assert isinstance(model, SklearnModel) and isinstance(params.model, SgdParams)  # streaming_problems
    with replacing(paths.TRAIN_METRICS, is_dir=True) as curves, replacing(paths.MODEL, is_dir=True) as folder:
        fitting = partial(fit_streamed, model, params.model, train_batches(paths.AUGMENTED_TRAIN))
        timings = fit(model, params.model.type, None, None, curves, streamed=fitting, rows=rows)
        model.save(folder, trained_record(params, data_card, data_file(paths.AUGMENTED_TRAIN, rows)))
    print(f"train: {describe(params)} on {rows} rows (streamed) in {timings['fit_seconds']:.1f} s")


def main() -> None:
    params = load_params()
    data_card = read_json(paths.DATA_CARD)
    if params.data.streaming:
        streamed(params, data_card)
        return
    train = read_table(paths.AUGMENTED_TRAIN)
    facts = data_facts(data_card, train)
    check_for_data(params, facts.task, facts.positive_label, facts.text)  # an experiment may change them
    rank = distributed.current()
    if rank is None and params.train.world > 1:
        distributed.check_launch(params.train)  # before any process starts
        if distributed.node_rank(params.train) > 0:  # another machine's processes: node 0 writes
            distributed.launch(params.train, "stages.train", None, None)
            return
        with replacing(paths.TRAIN_METRICS, is_dir=True) as curves, replacing(paths.MODEL, is_dir=True) as folder:
            distributed.launch(params.train, "stages.train", folder, curves)
        return
    model = build_model(params, facts)  # checks before any work
    valid = read_table(paths.split("valid")) if uses_valid(params) else None
    speaks = rank is None or rank.main
    if speaks and (warning := build_warning(params, facts)):
        print(warning, file=sys.stderr, flush=True)
    if rank is not None:
        with distributed.rank_outputs(rank) as (curves, folder):
            timings = fit(model, params.model.type, train, valid, curves)
            if folder is not None:
                save(model, params, data_card, len(train), valid, folder)
    else:
        # Both outputs are built in scratch folders and swapped in together only when training succeeded.
        with replacing(paths.TRAIN_METRICS, is_dir=True) as curves, replacing(paths.MODEL, is_dir=True) as folder:
            timings = fit(model, params.model.type, train, valid, curves)
            save(model, params, data_card, len(train), valid, folder)
    if speaks:
        print(f"train: {describe(params)} on {len(train)} rows in {timings['fit_seconds']:.1f} s")
        print(f"train: timings {timings_text(timings)}")


def save(model: Model, params: Params, data_card: dict[str, Any], rows: int, valid: pd.DataFrame | None,
         folder: Path) -> None:
    valid_file = data_file(paths.split("valid"), len(valid)) if valid is not None else None
    model.save(folder, trained_record(params, data_card, data_file(paths.AUGMENTED_TRAIN, rows), valid_file))


if __name__ == "__main__":
    run_main(main)
