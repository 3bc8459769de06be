"""Scoring with a transformer model: samples per second and peak memory against the rows scored.

    python -m benchmarks transformer_inference [--rows 1000 4000 16000] [--max-length 64]

A MiniLM model with a fresh 6-label head (`TransformerModel.build` on the default checkpoint, seeded,
saved as the train stage saves it) scores emotion texts repeated to each size, in a fresh process per size
(`load_model` then `scores`, as evaluate and predict do). Per size: wall seconds of the scoring alone, rows
per second, and the process's peak resident memory. Texts are tokenized `INFERENCE_CHUNK` rows at a time
(mlkit/modeling/transformer.py), so the peak should not grow with the rows beyond the scores themselves.
Threads: torch uses every CPU (or OMP_NUM_THREADS). Writes docs/studies/results/transformer_inference.{json,md},
which docs/studies/transformer.md includes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from mlkit.testing.bench import ROOT, SHARED, env, load, record, table

SCORE = r"""
import json, resource, sys, time
import pandas as pd
from mlkit.modeling.base import load_model
model = load_model(sys.argv[1])
texts = pd.read_csv(sys.argv[2], sep=";", header=None, names=["text", "label"])["text"]
frame = pd.DataFrame({"text": (texts.tolist() * (int(sys.argv[3]) // len(texts) + 1))[:int(sys.argv[3])]})
started = time.perf_counter()
scores = model.scores(frame)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "shape": list(scores.shape)}))
"""

BUILD = r"""
import sys
from pathlib import Path
from mlkit.core.params import model_params
from mlkit.modeling.transformer import TransformerModel
labels = ["anger", "fear", "joy", "love", "sadness", "surprise"]
model = TransformerModel.build(model_params(type="transformer", max_length=int(sys.argv[2])), "multiclass", labels, None)
model.save(Path(sys.argv[1]), {})
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    texts = SHARED / "datasets" / "emotion" / "train.txt"
    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}; {load()}")
    with tempfile.TemporaryDirectory(prefix="mlkit-infer-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        subprocess.run([sys.executable, "-c", BUILD, str(folder), str(args.max_length)], cwd=ROOT, env=env(),
                       check=True, capture_output=True)
        rows, numbers = [], []
        for n in args.rows:
            done = subprocess.run([sys.executable, "-c", SCORE, str(folder), str(texts), str(n)], cwd=ROOT,
                                  env=env(), check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((f"{n:,}", f"{result['seconds']:.1f}", f"{n / result['seconds']:,.0f}",
                         f"{result['peak'] / 2**20:,.0f}"))
            numbers.append({"rows": n, "seconds": result["seconds"], "rows_per_second": n / result["seconds"],
                            "peak_bytes": result["peak"]})
    headers = ["rows", "scoring s", "rows/s", "peak MiB"]
    print(table(headers, rows))
    print(load())
    note = (f"`python -m benchmarks transformer_inference --rows {' '.join(map(str, args.rows))} --max-length "
            f"{args.max_length}`: all-MiniLM-L6-v2 with a 6-label head, emotion texts, CPU only, one process per "
            "size; seconds of the scoring alone and the process's peak resident memory")
    numbers_all = {"max_length": args.max_length, "sizes": numbers}
    print(f"written: {record('transformer_inference', numbers_all, headers, rows, note=note)}")


if __name__ == "__main__":
    main()
