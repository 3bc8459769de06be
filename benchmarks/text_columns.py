"""Several text columns: the disaster_tweets preset with each tweet's `keyword` joined before its text.

    python -m benchmarks text_columns

`dvc repro` on the preset as committed (`text_column: text`), then with `text_column: [keyword, text]`,
in one temporary copy of the project: valid and test F1 of the positive class, test with its 95% bootstrap
interval (1,000 resamples). Cleaning deduplicates the joined texts, so a tweet repeated under two keywords
is two rows there: the split sizes are printed beside the scores. Writes
docs/studies/results/text_columns.{json,md}, which docs/studies/text-columns.md includes.
"""

from __future__ import annotations

import json
import os
import sys

import yaml

from mlkit.testing.bench import load, project_copy, record, run, table, test_score

SETTINGS = ("text", ["keyword", "text"])


def main() -> None:
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    rows, numbers = [], []
    with project_copy() as project:
        run("mlkit preset disaster_tweets", project)
        for columns in SETTINGS:
            params = yaml.safe_load((project / "params.yaml").read_text())
            params["data"]["sources"][0]["text_column"] = columns
            (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            seconds = run("dvc repro", project)
            metrics = json.loads((project / "metrics/eval/metrics.json").read_text())
            split = json.loads((project / "metrics/split.json").read_text())
            value, low, high = test_score(project, "f1")
            rows.append([str(columns), "/".join(str(split[s]["rows"]) for s in ("train", "valid", "test")),
                         metrics["valid"]["f1"], f"{value:.4f} [{low:.4f}, {high:.4f}]", f"{seconds:.0f}"])
            numbers.append({"text_column": columns, "rows": {s: split[s]["rows"] for s in ("train", "valid", "test")},
                            "valid_f1": metrics["valid"]["f1"], "test_f1": value, "test_f1_interval": [low, high],
                            "repro_s": seconds})
    headers = ["text_column", "train/valid/test", "valid f1", "test f1 [95% interval]", "repro s"]
    print(table(headers, rows))
    note = "`mlkit preset disaster_tweets && dvc repro`, the source's `text_column` as in the first column"
    print(f"written: {record('text_columns', {'settings': numbers}, headers, rows, note=note)}")


if __name__ == "__main__":
    main()
