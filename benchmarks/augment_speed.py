"""Sentences per second of each augmentation method on the Disaster Tweets train split.

    python -m benchmarks augment_speed

Timed on the whole train split with one process and with both cores, each from cold: fresh worker
processes and an empty synonym cache. WordNet's one-off load per process is timed on its own.
Back-translation (one apertium process per direction) and emoji run in one process. Writes
docs/studies/results/augment_speed.{json,md}, which docs/studies/augmentation.md includes.
"""

from __future__ import annotations

import os
import time

from joblib.externals.loky import get_reusable_executor

from mlkit.core.params import AugmentParams, DataParams, FileSource, SplitParams
from mlkit.data.augment import synonyms_of, variants
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.data.split import split_frame
from mlkit.data.wordnet import load
from mlkit.testing.bench import ROOT, record, table

DATA = ROOT / ".." / "shared" / "datasets" / "disaster_tweets" / "train.csv"


def train_texts() -> list[str]:
    raw = read_source(FileSource(kind="file", path=str(DATA.resolve()), label_column="target"))
    frame, _ = build_dataset([raw], DataParams(sources=[{"kind": "digits"}]))
    return split_frame(frame, SplitParams())["train"]["text"].tolist()


def rate(method: str, texts: list[str], jobs: int) -> float:
    params = AugmentParams(n_jobs=jobs)
    get_reusable_executor().shutdown(wait=True)  # fresh workers: each loads WordNet again
    synonyms_of.cache_clear()
    started = time.perf_counter()
    variants(method, texts, params)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    texts = train_texts()
    started = time.perf_counter()
    load().synsets("dog")
    loaded = time.perf_counter() - started
    print(f"command: python -m benchmarks augment_speed; nproc {os.cpu_count()}; "
          f"{len(texts)} Disaster Tweets train texts\n")
    rows, rates = [], {}
    for method in ("synonyms", "asr_noise", "emoji", "backtranslate"):
        single = rate(method, texts, 1)
        both = rate(method, texts, 2) if method in ("synonyms", "asr_noise") else None
        rows.append([method, f"{single:,.0f}", "-" if both is None else f"{both:,.0f}",
                     "-" if both is None else f"{both / single:.2f}"])
        rates[method] = {"one_process_per_s": single, "two_processes_per_s": both}
    headers = ["method", "1 process /s", "2 processes /s", "speed-up"]
    print(table(headers, rows))
    note = (f"Sentences per second on the {len(texts):,} Disaster Tweets train texts; WordNet's load, once per "
            f"process: {loaded:.1f} s (inside the 2-process figure, not the 1-process one)")
    print(f"\n{note}")
    numbers = {"texts": len(texts), "wordnet_load_s": loaded, "methods": rates}
    print(f"written: {record('augment_speed', numbers, headers, rows, note=note)}")


if __name__ == "__main__":
    main()
