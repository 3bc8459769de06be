"""fetch: read every configured source into data/raw.parquet and describe it in the data card."""

from mlkit.core import paths
from mlkit.core.errors import run_main
from mlkit.core.io import replacing, write_json, write_table
from mlkit.core.params import check_for_data, load_params
from mlkit.core.table import has_text
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import iter_source
from mlkit.data.streaming import fetch_streamed
from mlkit.data.tracked import check_declared, check_tracked


def main() -> None:
    params = load_params()
    check_tracked(params.data.sources)  # only what DVC tracks, checked before any reading
    check_declared(params.data.sources)  # and each file read is one of fetch's deps in dvc.yaml
    # Chunk by chunk: memory follows the rows kept, not the size of the files (docs/how-to/large-data.md).
    chunks = (chunk for spec in params.data.sources for chunk in iter_source(spec))
    if params.data.streaming:  # the kept rows written batch by batch, never all in memory
        with replacing(paths.RAW) as tmp:
            card = fetch_streamed(chunks, params.data, tmp)
            check_for_data(params, card["task"], card["positive_label"], True)
        write_json(paths.DATA_CARD, card)
        print(f"fetch: {card['rows']} rows (streamed), {card['task']}, labels {card['rows_per_label']}; "
              f"dropped {card['dropped']}")
        return
    dataset, card = build_dataset(chunks, params.data)
    # The task is known now: every setting that depends on it is checked before any later stage runs.
    check_for_data(params, card["task"], card["positive_label"], has_text(dataset))
    write_table(paths.RAW, dataset)
    write_json(paths.DATA_CARD, card)
    print(f"fetch: {card['rows']} rows, {card['task']}, labels {card['rows_per_label']}; dropped {card['dropped']}")


if __name__ == "__main__":
    run_main(main)
