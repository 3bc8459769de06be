"""fetch: read every configured source into data/raw.parquet and describe it in the data card."""

from mlkit.dataset import build_dataset
from mlkit.errors import run_main
from mlkit.io import write_json, write_table
from mlkit.params import load_params
from mlkit.sources import read_source

RAW = "data/raw.parquet"
CARD = "metrics/data_card.json"


def main() -> None:
    params = load_params()
    frames = [read_source(spec) for spec in params.data.sources]
    dataset, card = build_dataset(frames, params.data)
    write_table(RAW, dataset)
    write_json(CARD, card)
    print(f"fetch: {card['rows']} rows, {card['task']}, labels {card['rows_per_label']}; dropped {card['dropped']}")


if __name__ == "__main__":
    run_main(main)
