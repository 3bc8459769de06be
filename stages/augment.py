"""augment: the train split only -> data/augmented/train.parquet (passes through with methods: [])."""

from mlkit.table import label_counts
from mlkit.errors import run_main
from mlkit.io import read_table, write_json, write_table
from mlkit.params import load_params

TRAIN = "data/split/train.parquet"
OUT = "data/augmented/train.parquet"
CARD = "metrics/augment.json"


def main() -> None:
    params = load_params()
    train = read_table(TRAIN)
    augmented = train  # each method of params.augment.methods will add rows here
    write_table(OUT, augmented)
    write_json(CARD, {
        "methods": params.augment.methods,
        "rows_before": len(train),
        "rows_after": len(augmented),
        "labels_before": label_counts(train),
        "labels_after": label_counts(augmented),
    })
    print(f"augment: {len(train)} -> {len(augmented)} rows (methods: {params.augment.methods or 'none'})")


if __name__ == "__main__":
    run_main(main)
