"""Data-parallel fine-tuning on CPU: the same fine-tuning on 1 process and on 2 (gloo), side by side.

    python -m benchmarks ddp

all-MiniLM-L6-v2 (6 layers, its dropout on) on 320 texts of the emotion set (224 train rows, 14 steps of
16 an epoch), 1 epoch, 32 tokens, in a committed copy of the project: `dvc repro` up to augment, then the
train stage at train.processes 1 and 2 (global batch 16 both times) and evaluate after each. Prints the
train stage's wall time and the test metrics, and writes docs/studies/results/ddp.{json,md}, which
docs/how-to/data-parallel.md includes. On a 2-core machine the 2 processes share the 2 cores (1 thread
each, against 2 threads for the 1 process): the figure shows the cost of the launch and the all-reduce,
not a speed-up, which takes a device (or a core set) per process.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from mlkit.testing import ROOT, copy_project, dataset
from mlkit.testing.bench import load, record, table


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
        for processes in (1, 2):
            project.set_params(train={"processes": processes})
            started = time.perf_counter()
            project.dvc("repro", "train")
            seconds = time.perf_counter() - started
            project.dvc("repro", "evaluate")
            test = json.loads(project.file("metrics/eval/metrics.json").read_text())["test"]
            found[processes] = {"train_s": seconds, "accuracy": test["accuracy"], "f1_macro": test["f1_macro"]}
    headers = ["train.processes", "train stage (s)", "test accuracy", "test f1_macro"]
    rows = [[n, round(v["train_s"], 1), round(v["accuracy"], 4), round(v["f1_macro"], 4)] for n, v in found.items()]
    print(table(headers, rows))
    print(f"({load()})")
    print(f"written: {record('ddp', {str(n): v for n, v in found.items()}, headers, rows)}")


if __name__ == "__main__":
    main()
