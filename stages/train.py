"""train: data/augmented/train.parquet (+ data/split/valid.parquet) -> models/model, metrics/train (dvclive).

scikit-learn models are saved with skops; transformers are fine-tuned with transformers' Trainer (early
stopping on the valid split, the best epoch kept, curves logged by DVCLiveCallback) and saved with
safetensors and their tokenizer. Both write the model card that evaluate and predict read.
"""

import json
import sys
import time

from dvclive import Live

from mlkit.core import paths
from mlkit.core.errors import run_main
from mlkit.core.io import md5_file, read_json, read_table, replacing
from mlkit.core.params import check_for_data, load_params
from mlkit.core.progress import heartbeat
from mlkit.core.table import has_text
from mlkit.modeling.base import Model
from mlkit.modeling.sklearn_model import SklearnModel, build_pipeline, fit_warning


def main() -> None:
    params = load_params()
    data_card = read_json(paths.DATA_CARD)
    train = read_table(paths.AUGMENTED_TRAIN)
    task, labels, positive = data_card["task"], data_card["labels"], data_card["positive_label"]
    check_for_data(params, task, positive, has_text(train))  # an experiment may change them without fetch
    transformer = params.model.type == "transformer"
    model: Model
    if transformer:
        from mlkit.modeling.transformer import TransformerModel  # text data: check_for_data refused features

        model = TransformerModel.build(params.model, task, labels, positive)  # checks before any work
        valid = read_table(paths.split("valid"))
    else:
        model = SklearnModel(build_pipeline(params.features, params.model, task, has_text(train), len(train)),
                             task, labels, positive)
        valid = None
        warning = fit_warning(params.model, len(train)) if has_text(train) else None
        if warning:
            print(warning, file=sys.stderr, flush=True)
    # Both outputs are built in scratch folders and swapped in together only when training succeeded.
    with replacing(paths.TRAIN_METRICS, is_dir=True) as curves, replacing(paths.MODEL, is_dir=True) as folder:
        live = Live(str(curves), dvcyaml=False, save_dvc_exp=False, report=None)
        (curves / "plots" / "metrics").mkdir(parents=True, exist_ok=True)  # the plots out exists for sklearn too
        started = time.perf_counter()
        print(f"train: fitting {params.model.type} on {len(train)} rows", flush=True)
        with heartbeat(f"train: {params.model.type}"):  # a long fit prints its elapsed time, not silence
            timings = model.fit(train, valid, live=live)
        seconds = time.perf_counter() - started
        if "epochs" in timings:
            live.log_metric("epochs", timings.pop("epochs"), plot=False)  # a count, not a time: the same each run
        live.make_summary()
        (curves / "params.yaml").unlink(missing_ok=True)  # DVCLiveCallback's copy of TrainingArguments
        card = {
            "params": {"features": params.features.model_dump(mode="json"),
                       "model": params.model.model_dump(mode="json")},
            "train_data": {"path": paths.AUGMENTED_TRAIN, "md5": md5_file(paths.AUGMENTED_TRAIN), "rows": len(train)},
            "columns": data_card.get("columns"),  # the sources' text/label columns: predict's defaults
            "label_map": data_card.get("label_map") or {},  # predict maps a labelled file's labels the same way
        }
        if valid is not None:
            card["valid_data"] = {"path": paths.split("valid"), "md5": md5_file(paths.split("valid")),
                                  "rows": len(valid)}
        model.save(folder, card)
    what = f"{params.model.type} ({params.model.checkpoint})" if transformer else params.model.type
    print(f"train: {what} on {len(train)} rows in {seconds:.1f} s")
    # Timings change every run: printed, never written into an output DVC hashes.
    shown = {"fit_seconds": round(seconds, 2), **{k: round(v, 4) for k, v in timings.items()}}
    print(f"train: timings {json.dumps(shown)}")


if __name__ == "__main__":
    run_main(main)
