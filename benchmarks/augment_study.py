"""Does augmentation help? One `dvc exp run` per setting on two tasks, same model and split.

    python -m benchmarks augment_study [disaster_tweets|ru_emotion ...] [--limit ROWS]

Each task runs in a temporary copy of the project with its preset, `--limit` a seeded sample of its data
(`data.limit`, default 3000; 0: all of it); after each run the test metric and its 95% percentile bootstrap
interval (1,000 resamples of the test predictions) are read from the workspace, and at the end
`dvc exp show` prints the same experiments as DVC records them. Writes
docs/studies/results/augment_study.{json,md} (a table per task, rewritten as each task ends), which
docs/studies/augmentation.md includes.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from mlkit.testing import dvc
from mlkit.testing.bench import (
    commit,
    exp_run_from_commit,
    import_sources,
    project_copy,
    record,
    run,
    set_params,
    table,
    test_score,
)

# One fast model per task for every setting, so the settings are what differs; on TF-IDF features only
# (no embedding), as each augmented train split would be encoded afresh.
STUDIES: dict[str, dict[str, Any]] = {
    "disaster_tweets": {
        "model": ["model.type=linear_svc", "model.C=0.1", "features.embedding=null"],
        "metric": "f1",
        "settings": {
            "none": [],
            "synonyms": ["augment.methods=[synonyms]"],
            "backtranslate": ["augment.methods=[backtranslate]"],
            "emoji": ["augment.methods=[emoji]"],
            "asr_noise": ["augment.methods=[asr_noise]"],
            "synonyms+backtranslate": ["augment.methods=[synonyms,backtranslate]"],
            "all four": ["augment.methods=[synonyms,backtranslate,emoji,asr_noise]"],
        },
    },
    "ru_emotion": {
        "model": ["model.C=0.2", "features.embedding=null"],
        "metric": "f1_weighted",
        "settings": {
            "none": [],
            "asr_noise": ["augment.methods=[asr_noise]"],
            "emoji": ["augment.methods=[emoji]"],
            "balance 5% (asr_noise)": ["augment.balance.target_share=0.05"],
            "balance 10% (asr_noise, 6 copies)": ["augment.balance.target_share=0.1", "augment.balance.max_copies=6"],
            "asr_noise + balance 5% (6 copies)": ["augment.methods=[asr_noise]", "augment.balance.target_share=0.05",
                                                  "augment.balance.max_copies=6"],
        },
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks augment_study")
    parser.add_argument("tasks", nargs="*", default=list(STUDIES), help=f"any of {', '.join(STUDIES)}")
    parser.add_argument("--limit", type=int, default=3000, help="rows of each task's data (0: all of them)")
    args = parser.parse_args()
    unknown = sorted(set(args.tasks) - set(STUDIES))
    if unknown:
        parser.error(f"unknown task(s): {', '.join(unknown)}; available: {', '.join(STUDIES)}")
    tasks, limit = args.tasks, args.limit
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(f"command: python -m benchmarks augment_study {' '.join(tasks)} --limit {limit}; nproc {os.cpu_count()}")
    tables: list[tuple[str, list[str], list[list[object]]]] = []
    numbers: dict[str, Any] = {"limit": limit, "tasks": {}}
    for task in tasks:
        study = STUDIES[task]
        rows: list[list[object]] = []
        runs: list[dict[str, Any]] = []
        numbers["tasks"][task] = runs
        with project_copy() as project:
            run(f"mlkit preset {task}", project)
            if limit:
                set_params(project, {"data.limit": limit})
            import_sources(project)
            commit(project, task)
            for name, settings in study["settings"].items():
                seconds, _ = exp_run_from_commit(project, study["model"] + settings)
                augment = json.loads((project / "metrics/augment.json").read_text())
                value, low, high = test_score(project, study["metric"])
                rows.append([name, augment["rows_after"], f"{value:.4f}", f"[{low:.4f}, {high:.4f}]", f"{seconds:.0f}"])
                runs.append({"setting": name, "overrides": settings, "train_rows": augment["rows_after"],
                             "metric": study["metric"], "value": value, "low": low, "high": high,
                             "exp_run_s": seconds})
                print(f"done: {task} {name}", flush=True)
            keep = rf"Experiment|augment\.methods|augment\.balance\.target_share|test\.{study['metric']}$"
            shown = dvc("exp", "show", "--no-pager", "--drop", ".*", "--keep", keep, cwd=project, check=False,
                        env={"COLUMNS": "200"})
        model = ", ".join(study["model"]) or "the preset's model"
        sample = f"a seeded sample of {limit:,} rows" if limit else "all rows"
        heads = ["augmentation", "train rows", f"test {study['metric']}", "95% bootstrap CI", "exp run s"]
        print(f"\n{task}: test {study['metric']} ({model}); train rows after augmentation\n")
        print(table(heads, rows))
        print(f"\n`dvc exp show` of the same runs:\n{shown.stdout}")
        tables.append((f"**{task}** ({sample}; `{' '.join(f'-S {o}' for o in study['model'])}`): test "
                       f"{study['metric']} and its 95% bootstrap interval (1,000 resamples); train rows after "
                       "augmentation", heads, rows))
        (first_note, first_heads, first_rows), *more = tables  # after each task: a stopped run keeps those done
        print(f"written: {record('augment_study', numbers, first_heads, first_rows, note=first_note, more=more)}")


if __name__ == "__main__":
    main()
