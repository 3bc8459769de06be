"""Resplit study: does a setting's score hold over other random splits? gamma x split.seed through the queue.

    mlkit resplit run --gamma 0.0001,0.001,0.01,0.1 --seeds 1,2,3 -j 2
    mlkit resplit report --threshold 0.1

`run` is a sweep (`mlkit sweep -S model.gamma=... -S split.seed=... --name resplit`) of the
committed params (the study is meant for the `digits` preset). `report` reruns nothing: it reads the
experiments named PREFIX-N of HEAD from dvc.api.exp_show, and gives per gamma the mean and spread (sample
standard deviation over the split seeds) of train, valid and test accuracy and macro F1; a gamma whose
train-test accuracy gap exceeds --threshold is flagged as over-fitted. It writes OUT/report.md,
OUT/curves.csv (one row per gamma, for `dvc plots show OUT/curves.csv -x gamma -y test_accuracy_mean`)
and OUT/accuracy.png (accuracy against gamma, log x, with the spread).
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlkit.core.errors import PipelineError
from mlkit.core.metric_names import Metric
from mlkit.core.paths import SPLITS
from mlkit.tools.experiments import queue as ex
from mlkit.tools.experiments import results

METRICS = (Metric.ACCURACY,)  # the digits preset's compare.metric: the headline on every split
PREFIX = "resplit"
OUT = Path("resplit")


@dataclass
class Row:
    gamma: float
    runs: int
    seeds: list[Any]
    stats: dict[str, tuple[float, float | None]]  # "test.accuracy" -> (mean, std over seeds)
    gap: float
    overfit: bool


def study_rows(rows: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    pattern = re.compile(rf"^{re.escape(prefix)}-\d+$")
    return [r for r in rows if pattern.match(str(r.get("Experiment")))]


def summarise(rows: list[dict[str, Any]], threshold: float) -> list[Row]:
    groups: dict[float, list[dict[str, Any]]] = {}
    for row in rows:
        gamma = results.number(results.value(row, "model.gamma"))
        if gamma is None:
            shown = results.value(row, "model.gamma")
            raise PipelineError(f"experiment {row['Experiment']}: model.gamma is {shown!r}, "
                                "not a number")
        groups.setdefault(gamma, []).append(row)
    out = []
    for gamma, members in sorted(groups.items()):
        stats = {}
        for split in SPLITS:
            for metric in METRICS:
                key = f"{split}.{metric}"
                found = [results.number(results.value(r, key)) for r in members]
                values = [v for v in found if v is not None]
                if not values:
                    raise PipelineError(f"gamma {gamma:g}: no experiment has {key} (metrics/eval/metrics.json)")
                stats[key] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)
        gap = stats["train.accuracy"][0] - stats["test.accuracy"][0]
        seeds = sorted({results.param_cell(results.value(r, "split.seed")) for r in members}, key=str)
        out.append(Row(gamma, len(members), seeds, stats, gap, gap > threshold))
    return out


def spread(mean: float, std: float | None) -> str:
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


def markdown(rows: list[Row], threshold: float) -> str:
    headers = ["gamma", "runs", *(f"{s} acc" for s in SPLITS), "train-test acc", "over-fit"]
    body = [[f"{r.gamma:g}", str(r.runs), *(spread(*r.stats[f"{s}.accuracy"]) for s in SPLITS), f"{r.gap:.4f}",
             f"**yes** (> {threshold:g})" if r.overfit else "no"] for r in rows]
    return results.format_table(headers, body, markdown=True)


def write_csv(rows: list[Row], path: Path) -> None:
    fields = ["gamma", "runs"] + [f"{s}_{m}_{k}" for s in SPLITS for m in METRICS for k in ("mean", "std")] \
        + ["gap_accuracy", "overfit"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for r in rows:
            cells: list[Any] = [r.gamma, r.runs]
            for s in SPLITS:
                for m in METRICS:
                    mean, std = r.stats[f"{s}.{m}"]
                    cells += [round(mean, 6), "" if std is None else round(std, 6)]
            writer.writerow(cells + [round(r.gap, 6), int(r.overfit)])


def draw(rows: list[Row], path: Path, threshold: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gammas = [r.gamma for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for split, colour in zip(SPLITS, ("tab:blue", "tab:orange", "tab:green")):
        means = [r.stats[f"{split}.accuracy"][0] for r in rows]
        stds = [r.stats[f"{split}.accuracy"][1] or 0.0 for r in rows]
        ax.errorbar(gammas, means, yerr=stds, marker="o", capsize=3, color=colour, label=split)
        ax.fill_between(gammas, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                        color=colour, alpha=0.15)
    for r in rows:
        if r.overfit:
            ax.axvspan(r.gamma / 1.5, r.gamma * 1.5, color="tab:red", alpha=0.08)
    ax.set_xscale("log")
    ax.set_xlabel("model.gamma (log scale)")
    ax.set_ylabel("accuracy (mean ± std over split seeds)")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title=f"split; red: train-test gap > {threshold:g}", loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(prefix: str, threshold: float, out: Path, root: Path = Path(".")) -> tuple[list[Row], str]:
    rows = study_rows(results.exp_rows(root), prefix)
    if not rows:
        raise PipelineError(f"no successful experiments named {prefix}-N at HEAD (dvc exp show); "
                            f"run `mlkit resplit run` first, or pass its --name")
    summary = summarise(rows, threshold)
    seeds = sorted({s for r in summary for s in r.seeds}, key=str)
    text = (f"Resplit study: {len(rows)} experiments ({prefix}-N at HEAD), split seeds "
            f"{', '.join(seeds)}; mean ± sample std over the seeds; over-fit: train - test accuracy "
            f"> {threshold:g}\n\n{markdown(summary, threshold)}\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(text, encoding="utf-8")
    write_csv(summary, out / "curves.csv")
    draw(summary, out / "accuracy.png", threshold, f"accuracy vs gamma over {len(seeds)} split seeds")
    return summary, text


def run(gamma: str, seeds: str, jobs: int = 2, timeout: float | None = None, name: str = PREFIX,
        threshold: float = 0.1, out: Path = OUT) -> None:
    """Queue and run gamma x split.seed (comma-separated values), then report."""
    gammas = ex.comma_list(gamma)
    for g in gammas:
        if results.number(g) is None:
            raise PipelineError(f"--gamma: {g!r} is not a number")
    seed_list = ex.comma_list(seeds)
    for s in seed_list:
        if not re.fullmatch(r"-?\d+", s):
            raise PipelineError(f"--seeds: {s!r} is not an integer")
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = ex.sweep([f"model.gamma={','.join(gammas)}", f"split.seed={','.join(seed_list)}"], jobs=jobs,
                      prefix=name, root=Path("."), timeout=timeout, report=progress)
    ex.raise_failures(result)
    show(name, threshold, out)


def show(name: str = PREFIX, threshold: float = 0.1, out: Path = OUT) -> None:
    """The report of the experiments named NAME-N: printed, and written under `out`."""
    _, text = report(name, threshold, out)
    print(text, end="")
    print(f"\nwritten: {out / 'report.md'}, {out / 'curves.csv'}, {out / 'accuracy.png'}")
