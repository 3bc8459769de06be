"""Training orchestration for the train stage: the data's facts, the fit with its curves and timings, and
what the model card records about the training. The stage reads and writes the files; this does the rest."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from dvclive import Live

from mlkit.core.io import md5_file
from mlkit.core.params import Params, card_params
from mlkit.core.progress import heartbeat
from mlkit.core.table import has_text
from mlkit.modeling.base import Model
from mlkit.modeling.card import DataFile
from mlkit.modeling.factory import DataFacts


def data_facts(data_card: dict[str, Any], train: pd.DataFrame) -> DataFacts:
    """What the data card (fetch's) and the train split tell the model builder."""
    return DataFacts(task=data_card["task"], labels=data_card["labels"], positive_label=data_card["positive_label"],
                     text=has_text(train), rows=len(train))


def fit(model: Model, kind: str, train: pd.DataFrame | None, valid: pd.DataFrame | None, curves: Path,
        streamed: Callable[[], dict[str, float]] | None = None, rows: int = 0) -> dict[str, float]:
    """Fit `model` (model.type `kind`), its curves logged by dvclive into `curves`; the timings, fit_seconds
    first. The timings change every run: printed, never written into an output DVC hashes. `streamed` fits
    instead of model.fit, over `rows` rows it reads itself (data.streaming)."""
    live = Live(str(curves), dvcyaml=False, save_dvc_exp=False, report=None)
    (curves / "plots" / "metrics").mkdir(parents=True, exist_ok=True)  # the plots out exists for sklearn too
    started = time.perf_counter()
    print(f"train: fitting {kind} on {len(train) if train is not None else rows} rows"
          f"{' in batches' if streamed else ''}", flush=True)
    with heartbeat(f"train: {kind}"):  # a long fit prints its elapsed time, not silence
        timings = streamed() if streamed else model.fit(train, valid, live=live)
    seconds = time.perf_counter() - started
    if "epochs" in timings:
        live.log_metric("epochs", timings.pop("epochs"), plot=False)  # a count, not a time: the same each run
    live.make_summary()
    (curves / "params.yaml").unlink(missing_ok=True)  # DVCLiveCallback's copy of TrainingArguments
    return {"fit_seconds": seconds, **timings}


def timings_text(timings: dict[str, float]) -> str:
    """The timings as one JSON line: seconds to 2 places, the others (rates) to 4."""
    return json.dumps({k: round(v, 2 if k == "fit_seconds" else 4) for k, v in timings.items()})


def data_file(path: str, rows: int) -> DataFile:
    return DataFile(path=path, md5=md5_file(path), rows=rows)


def trained_record(params: Params, data_card: dict[str, Any], train: DataFile,
                   valid: DataFile | None = None) -> dict[str, Any]:
    """What the model card records about the training (card.TRAINED_KEYS): the features and model params (every
    model key, card_params), the data files, the sources' columns and label_map (predict's defaults)."""
    record: dict[str, Any] = {
        "params": {"features": params.features.model_dump(mode="json"), "model": card_params(params.model)},
        "train_data": train,
        "columns": data_card.get("columns"),
        "label_map": data_card.get("label_map") or {},
    }
    if valid is not None:
        record["valid_data"] = valid
    return record
