"""augment: the train split -> data/augmented/train.parquet; valid and test are read only to refuse copies of them."""

import pandas as pd

from mlkit.core import paths
from mlkit.core.errors import run_main
from mlkit.core.io import read_table, replacing, write_json, write_table
from mlkit.core.params import load_params
from mlkit.data.augment import augment_train
from mlkit.data.streaming import pass_through


def main() -> None:
    params = load_params()
    if params.data.streaming:  # no methods (params.yaml is checked for it): train copied batch by batch
        with replacing(paths.AUGMENTED_TRAIN) as tmp:
            card = pass_through(paths.split("train"), tmp)
        write_json(paths.AUGMENT_CARD, card)
        print(f"augment: {card['rows_before']} rows passed through (streamed)")
        return
    train = read_table(paths.split("train"))
    held_out = pd.concat([read_table(paths.split(name)).get("text", pd.Series(dtype=str))
                          for name in ("valid", "test")])
    augmented, card = augment_train(train, held_out, params.augment)  # methods: [] passes train through
    write_table(paths.AUGMENTED_TRAIN, augmented)
    write_json(paths.AUGMENT_CARD, card)
    print(f"augment: {len(train)} -> {len(augmented)} rows; per method {card['rows_per_method']}")


if __name__ == "__main__":
    run_main(main)
