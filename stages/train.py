"""train: data/augmented/train.parquet -> models/model (skops file + model card)."""

import time

from mlkit.table import has_text
from mlkit.errors import run_main
from mlkit.io import md5_file, read_json, read_table, replacing
from mlkit.models import SklearnModel, build_pipeline
from mlkit.params import load_params

TRAIN = "data/augmented/train.parquet"
DATA_CARD = "metrics/data_card.json"
OUT = "models/model"


def main() -> None:
    params = load_params()
    data_card = read_json(DATA_CARD)
    train = read_table(TRAIN)
    pipeline = build_pipeline(params.features, params.model, data_card["task"], has_text(train))
    model = SklearnModel(pipeline, data_card["task"], data_card["labels"], data_card["positive_label"])
    started = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - started
    card = {
        "params": {"features": params.features.model_dump(mode="json"), "model": params.model.model_dump(mode="json")},
        "train_data": {"path": TRAIN, "md5": md5_file(TRAIN), "rows": len(train)},
    }
    with replacing(OUT, is_dir=True) as folder:
        model.save(folder, card)
    print(f"train: {params.model.type} on {len(train)} rows in {seconds:.1f} s")


if __name__ == "__main__":
    run_main(main)
