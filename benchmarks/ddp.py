"""Data-parallel fine-tuning on CPU: the same fine-tuning on 1 process and on 2 (gloo), side by side.

    python -m benchmarks ddp

all-MiniLM-L6-v2 (6 layers, its dropout on) on 320 texts of the emotion set (224 train rows, 14 steps of
16 an epoch), 1 epoch, 32 tokens, in a committed copy of the project: `dvc repro` up to augment, then the
train stage at train.processes 1 (2 threads, then 1) and 2 (1 thread each; global batch 16 every time) and
evaluate after each. Prints the train stage's wall time and the test metrics, and writes
docs/studies/results/ddp.{json,md}, which docs/how-to/data-parallel.md includes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from mlkit.testing import ROOT, copy_project, dataset
from mlkit.testing.bench import load, record, table

# (row, train.processes, OMP_NUM_THREADS per process; None: the stage's own choice, the cores / processes)
RUNS = [("1 process, 2 threads", 1, None), ("1 process, 1 thread", 1, 1), ("2 processes, 1 thread each", 2, None)]


def main() -> None:
    found: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ddp-bench-") as tmp:
        project = copy_project(Path(tmp) / "project")
        (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
        project.set_params(
            data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")),
                               "format": "lines", "sep": ";"}], "limit": 320},
            model={"epochs": 1, "batch_size": 16, "max_length": 32, "lr": 1e-4, "patience": None})
        project.commit("ddp benchmark")
        project.dvc("repro", "augment")
        for name, processes, threads in RUNS:
            project.set_params(train={"processes": processes})
            os.environ.pop("OMP_NUM_THREADS", None)
            if threads:
                os.environ["OMP_NUM_THREADS"] = str(threads)
            started = time.perf_counter()
            project.dvc("repro", "-f", "train")
            seconds = time.perf_counter() - started
            project.dvc("repro", "evaluate")
            test = json.loads(project.file("metrics/eval/metrics.json").read_text())["test"]
            found[name] = {"train_s": seconds, "accuracy": test["accuracy"], "f1_macro": test["f1_macro"]}
    headers = ["run", "train stage (s)", "test accuracy", "test f1_macro"]
    rows = [[n, round(v["train_s"], 1), round(v["accuracy"], 4), round(v["f1_macro"], 4)] for n, v in found.items()]
    print(table(headers, rows))
    print(f"({load()})")
    print(f"written: {record('ddp', found, headers, rows)}")


if __name__ == "__main__":
    main()
