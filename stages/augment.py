"""augment: the train split -> data/augmented/train.parquet; valid and test are read only to refuse copies of them."""

import pandas as pd

from mlkit.augment import augment_train
from mlkit.errors import run_main
from mlkit.io import read_table, write_json, write_table
from mlkit.params import load_params

SPLIT_DIR = "data/split"
OUT = "data/augmented/train.parquet"
CARD = "metrics/augment.json"


def main() -> None:
    params = load_params()
    train = read_table(f"{SPLIT_DIR}/train.parquet")
    held_out = pd.concat([read_table(f"{SPLIT_DIR}/{name}.parquet").get("text", pd.Series(dtype=str))
                          for name in ("valid", "test")])
    augmented, card = augment_train(train, held_out, params.augment)  # methods: [] passes train through
    write_table(OUT, augmented)
    write_json(CARD, card)
    print(f"augment: {len(train)} -> {len(augmented)} rows; per method {card['rows_per_method']}")


if __name__ == "__main__":
    run_main(main)
