"""How each pipeline stage's time and memory grow with the number of rows: the streaming path (data.streaming)
by default, the in-memory one with --in-memory.

    python -m benchmarks scaling                     # data.streaming at 1M, 3M and 10M rows (writes the result)
    python -m benchmarks scaling 100000 400000       # data.streaming at other sizes (writes the result)
    python -m benchmarks scaling --in-memory 10000 100000 1000000
    python -m benchmarks scaling --in-memory --model svc 2000 4000 8000
    python -m benchmarks scaling --in-memory --hashing 1048576 1000000   # features.hashing: no vocabulary
    python -m benchmarks scaling --in-memory --hashing 1048576 --repro 1000000   # one `dvc repro`

For each size, synthetic texts (below) go into a committed copy of the project as its only source
(`data.limit: null`), and each stage runs once as `python -m stages.NAME` in that order: fetch, split,
augment, train, evaluate, compare. The streaming path: a parquet source written in batches, `data.streaming:
true`, `features.hashing: 1048576`, `model.type: sgd`, `split.stratify: false`; the in-memory one: a csv,
`model.type: linear_svc` or --model, the other params as committed. Per stage: wall time, CPU time (user +
system), peak resident memory (the stage's own: the rusage of a process that runs only it) and rows per
second. Over the sizes, the exponent b of a least-squares fit on log-log axes, x ~ rows^b, per stage, for wall
time, CPU time (the steadier on a shared machine) and peak memory: 1 is linear, 0 flat; a stage's start-up
(imports, a few seconds) pulls b below 1 at small sizes. The streaming run writes
docs/studies/results/scaling.{json,md,png} (the numbers, the table, a log-log plot of time and memory); the
in-memory path prints its table, and `python -m benchmarks scaling_memory` writes it as a result file.

The texts: tweet-like lengths (words per text log-normal, median 18, 3 to 120), words drawn from a
Zipf law (exponent 1.1) over a 50,000-word vocabulary of pseudo-words of 2 to 10 letters, and one word
in six drawn from a 400-word vocabulary of the text's class (3 classes, shares 50/30/20): learnable, not
separable. 1% of texts repeat an earlier text (some with the other label) so that fetch's dedupe and
conflict handling work as on real data.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from mlkit.core.params import MODEL_TYPES
from mlkit.testing import Project
from mlkit.testing.bench import RESULTS, commit, env, load, markdown_table, project_copy, record

STAGES = ("fetch", "split", "augment", "train", "evaluate", "compare")
CLASSES = ("calm", "alert", "urgent")
PEAK = ("import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:])\n"
        "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(used.ru_utime + used.ru_stime, used.ru_maxrss * 1024)\n"
        "sys.exit(done.returncode)\n")


def synthetic_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    letters = rng.integers(ord("a"), ord("z") + 1, size=(50_000, 10), dtype=np.uint8)
    lengths = rng.integers(2, 11, size=50_000)
    vocabulary = np.array([bytes(row[:n]).decode() for row, n in zip(letters, lengths)], dtype=object)
    topical = rng.choice(len(vocabulary), size=(len(CLASSES), 400), replace=False)
    labels = rng.choice(len(CLASSES), size=rows, p=[0.5, 0.3, 0.2])
    words = np.clip(np.rint(rng.lognormal(np.log(18), 0.6, size=rows)), 3, 120).astype(np.int64)
    total = int(words.sum())
    drawn = (rng.zipf(1.1, size=total) - 1) % len(vocabulary)
    owner = np.repeat(labels, words)
    on_topic = rng.random(total) < 1 / 6
    drawn[on_topic] = topical[owner[on_topic], rng.integers(0, 400, size=int(on_topic.sum()))]
    tokens = vocabulary[drawn]
    texts = [" ".join(part) for part in np.split(tokens, np.cumsum(words)[:-1])]
    repeats = rng.choice(rows, size=rows // 100, replace=False)
    for i in repeats:  # an earlier text again; a third of them with another label
        j = int(rng.integers(0, max(i, 1)))
        texts[i] = texts[j]
        labels[i] = labels[j] if rng.random() < 2 / 3 else (labels[j] + 1) % len(CLASSES)
    names = np.array(CLASSES)[labels]
    with open(path, "w", encoding="utf-8") as handle:  # no commas or quotes in the texts: plain csv lines
        handle.write("text,label\n")
        handle.writelines(f"{text},{label}\n" for text, label in zip(texts, names))


def synthetic_parquet(path: Path, rows: int, seed: int = 0, batch: int = 250_000) -> None:
    """The same texts as synthetic_csv, generated and written batch by batch (a parquet row group each), so
    that 10 million rows never stand in memory at once; the repeats are of earlier texts of the same batch."""
    rng = np.random.default_rng(seed)
    letters = rng.integers(ord("a"), ord("z") + 1, size=(50_000, 10), dtype=np.uint8)
    lengths = rng.integers(2, 11, size=50_000)
    vocabulary = pa.array([bytes(row[:n]).decode() for row, n in zip(letters, lengths)])
    topical = rng.choice(len(vocabulary), size=(len(CLASSES), 400), replace=False)
    schema = pa.schema([("text", pa.string()), ("label", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, batch):
            size = min(batch, rows - start)
            labels = rng.choice(len(CLASSES), size=size, p=[0.5, 0.3, 0.2])
            words = np.clip(np.rint(rng.lognormal(np.log(18), 0.6, size=size)), 3, 120).astype(np.int64)
            total = int(words.sum())
            drawn = (rng.zipf(1.1, size=total) - 1) % len(vocabulary)
            owner = np.repeat(labels, words)
            on_topic = rng.random(total) < 1 / 6
            drawn[on_topic] = topical[owner[on_topic], rng.integers(0, 400, size=int(on_topic.sum()))]
            offsets = pa.array(np.concatenate([[0], np.cumsum(words)]).astype(np.int32))
            tokens = pa.ListArray.from_arrays(offsets, vocabulary.take(pa.array(drawn)))
            repeats = rng.choice(size, size=size // 100, replace=False)
            earlier = (rng.random(len(repeats)) * np.maximum(repeats, 1)).astype(np.int64)
            places = np.arange(size)
            places[repeats] = earlier
            texts = pc.binary_join(tokens, " ").take(pa.array(places))
            other = rng.random(len(repeats)) >= 2 / 3  # a third of the repeats with another label
            labels[repeats] = np.where(other, (labels[earlier] + 1) % len(CLASSES), labels[earlier])
            writer.write_table(pa.table({"text": texts,
                                         "label": pa.array(np.array(CLASSES)[labels])}, schema=schema))


def timed_stage(project: Path, stage: str) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak resident bytes of `python -m stages.STAGE` (or of `dvc repro` and
    the largest of the stages it runs, for stage "dvc repro")."""
    command = ["dvc", "repro"] if stage == "dvc repro" else [f"stages.{stage}"]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", *command], cwd=project,
                          env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"stage {stage} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    cpu, peak = done.stdout.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(peak)


STREAMING_HASHING = 1_048_576


def measure(rows: int, model: str, hashing: int | None = None, stages: tuple[str, ...] = STAGES,
            streaming: bool = False) -> dict[str, tuple[float, float, int]]:
    with project_copy() as project:
        source = project / "data" / "sources" / f"synthetic.{'parquet' if streaming else 'csv'}"
        source.parent.mkdir(parents=True, exist_ok=True)
        (synthetic_parquet if streaming else synthetic_csv)(source, rows)
        params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
        params["data"].update(sources=[{"kind": "file", "path": f"data/sources/{source.name}"}], limit=None,
                              streaming=streaming)
        params["model"]["type"] = model
        if hashing:
            params["features"].update(hashing=hashing, min_df=1)
        if streaming:
            params["split"]["stratify"] = False
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        Project(project).declare_sources()  # fetch's deps in dvc.yaml, as `mlkit import` writes them
        commit(project, "data")
        results = {}
        for stage in stages:
            results[stage] = timed_stage(project, stage)
            wall, cpu, peak = results[stage]
            print(f"{rows} rows: {stage} {wall:.1f} s, CPU {cpu:.1f} s, {peak / 2**20:.0f} MiB", file=sys.stderr,
                  flush=True)
        return results


def exponent(sizes: list[int], seconds: list[float]) -> float | None:
    if len(sizes) < 2:
        return None
    slope, _ = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(slope)


STAGE_LINE = re.compile(r"^(\d+) rows: (\w+) ([\d.]+) s, CPU ([\d.]+) s, (\d+) MiB$", re.MULTILINE)


def from_log(path: Path) -> dict[int, dict[str, tuple[float, float, int]]]:
    """The stage lines a streaming run printed (stderr), per size whose stages all completed."""
    found: dict[int, dict[str, tuple[float, float, int]]] = {}
    for rows, stage, wall, cpu, mib in STAGE_LINE.findall(path.read_text(encoding="utf-8")):
        found.setdefault(int(rows), {})[stage] = (float(wall), float(cpu), int(mib) * 2**20)
    return {rows: stages for rows, stages in found.items() if len(stages) == len(STAGES)}


def plot(sizes: list[int], measured: dict[int, dict[str, tuple[float, float, int]]], path: Path) -> None:
    """Wall time and peak memory per stage against rows, on log-log axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for stage in measured[sizes[0]]:
        time_axis.plot(sizes, [measured[r][stage][0] for r in sizes], marker="o", label=stage)
        memory_axis.plot(sizes, [measured[r][stage][2] / 2**20 for r in sizes], marker="o", label=stage)
    for axis, label in ((time_axis, "wall seconds"), (memory_axis, "peak resident MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("rows")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    time_axis.legend(fontsize="small")
    figure.suptitle("data.streaming: time and memory per stage")
    figure.savefig(path, metadata={"Software": None})  # no version stamp: the file changes with the numbers only
    plt.close(figure)


def streaming_result(sizes: list[int], measured: dict[int, dict[str, tuple[float, float, int]]],
                     loads: dict[int, str]) -> None:
    """The streaming run as data (docs/studies/results/scaling.*): per stage and size the numbers, per stage
    the exponents of wall time, CPU time and peak memory, and the plot."""
    stages = list(measured[sizes[0]])
    headers = ["stage", *(f"{r:,} rows: wall s / CPU s / peak MiB" for r in sizes), "wall ~ rows^b",
               "CPU ~ rows^b", "memory ~ rows^b"]
    rows: list[list[object]] = []
    numbers: dict[str, object] = {"sizes": sizes, "params": {"data.streaming": True, "features.hashing":
                                  STREAMING_HASHING, "model.type": "sgd", "split.stratify": False},
                                  "load_per_size": {str(r): loads[r] for r in sizes}, "stages": {}}
    for stage in (*stages, "total"):
        if stage == "total":
            series = [(sum(v[0] for v in measured[r].values()), sum(v[1] for v in measured[r].values()),
                       max(v[2] for v in measured[r].values())) for r in sizes]
        else:
            series = [measured[r][stage] for r in sizes]
        fits = [exponent(sizes, [float(v[i]) for v in series]) for i in range(3)]
        numbers["stages"][stage] = {  # type: ignore[index]
            "wall_s": [round(v[0], 1) for v in series], "cpu_s": [round(v[1], 1) for v in series],
            "peak_mib": [round(v[2] / 2**20) for v in series],
            "exponent": {"wall": fits[0], "cpu": fits[1], "memory": fits[2]}}
        rows.append([stage, *(f"{w:.1f} / {c:.1f} / {p / 2**20:,.0f}" for w, c, p in series),
                     *(None if b is None else f"{b:.2f}" for b in fits)])
    path = record("scaling", numbers, headers, rows)
    plot(sizes, measured, RESULTS / "scaling.png")
    print(markdown_table(headers, rows))
    print(f"written: {path} and {RESULTS / 'scaling.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, help="rows per run (streaming: 1M 3M 10M; in memory: "
                        "10,000 and 100,000)")
    parser.add_argument("--in-memory", action="store_true", help="the in-memory path (data.streaming: false)")
    parser.add_argument("--model", default="linear_svc", choices=MODEL_TYPES[:-1], help="in memory: model.type "
                        "(linear_svc)")
    parser.add_argument("--hashing", type=int, default=None, metavar="N",
                        help="in memory: features.hashing N (and min_df 1): hashed columns instead of a vocabulary")
    parser.add_argument("--repro", action="store_true", help="in memory: time one `dvc repro` instead of each stage")
    parser.add_argument("--log", type=Path, help="streaming: write the result from the stage lines of a run's log "
                        "(the sizes whose six stages completed)")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}", flush=True)
    if args.log:
        measured = from_log(args.log)
        streaming_result(sorted(measured), measured, {rows: f"not in {args.log.name}" for rows in measured})
        return
    if not args.in_memory:
        sizes = sorted(args.sizes or [1_000_000, 3_000_000, 10_000_000])
        measured, loads = {}, {}
        for rows in sizes:
            measured[rows] = measure(rows, "sgd", STREAMING_HASHING, streaming=True)
            loads[rows] = load()
            streaming_result(sorted(measured), measured, loads)  # each size as it completes: a cut run keeps them
        return
    sizes = sorted(args.sizes or [10_000, 100_000])
    stages = ("dvc repro",) if args.repro else STAGES
    measured = {rows: measure(rows, args.model, args.hashing, stages) for rows in sizes}
    head = ["stage"] + [f"{r:,} rows: wall s / CPU s / peak MiB / rows/s" for r in sizes]
    head += ["wall ~ rows^b", "CPU ~ rows^b"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage in (*stages, "total") if len(stages) > 1 else stages:
        cells, walls, cpus = [], [], []
        for rows in sizes:
            if stage == "total":
                wall = sum(w for w, _, _ in measured[rows].values())
                cpu = sum(c for _, c, _ in measured[rows].values())
                peak = max(p for _, _, p in measured[rows].values())
            else:
                wall, cpu, peak = measured[rows][stage]
            walls.append(wall)
            cpus.append(cpu)
            cells.append(f"{wall:.1f} / {cpu:.1f} / {peak / 2**20:,.0f} / {rows / wall:,.0f}")
        fits = [exponent(sizes, t) for t in (walls, cpus)]
        lines.append(f"| {stage} | " + " | ".join(cells) + " | "
                     + " | ".join("-" if b is None else f"{b:.2f}" for b in fits) + " |")
    print("\n".join(lines))
    print(f"\n(total: the stages' times summed, the largest peak; {load()})")


if __name__ == "__main__":
    main()
