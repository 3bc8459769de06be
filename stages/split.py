"""split: data/raw.parquet -> data/split/{train,valid,test}.parquet, stratified, no text in two splits."""

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import read_table, replacing, write_json
from mlkit.core.params import load_params
from mlkit.core.table import label_counts
from mlkit.data.split import overlap, split_frame
from mlkit.data.streaming import split_streamed


def main() -> None:
    params = load_params()
    if params.data.streaming:  # by a hash of each text, batch by batch
        with replacing(paths.SPLIT_DIR, is_dir=True) as folder:
            stats = split_streamed(paths.RAW, params.split, folder)
        write_json(paths.SPLIT_STATS, stats)
        print("split: " + ", ".join(f"{name} {stats[name]['rows']}" for name in paths.SPLITS) + " (streamed)")
        return
    parts = split_frame(read_table(paths.RAW), params.split)
    shared = overlap(parts)
    if shared:
        raise PipelineError(f"split: {shared} text(s) would stand in two splits")
    with replacing(paths.SPLIT_DIR, is_dir=True) as folder:
        for name, part in parts.items():
            part.to_parquet(folder / f"{name}.parquet", index=False)
    stats = {name: {"rows": len(part), "labels": label_counts(part)} for name, part in parts.items()}
    write_json(paths.SPLIT_STATS, {**stats, "texts_in_two_splits": shared})
    print("split: " + ", ".join(f"{name} {len(part)}" for name, part in parts.items()))


if __name__ == "__main__":
    run_main(main)
