"""How each pipeline stage's time and memory grow with the number of rows.

    python -m benchmarks scaling                 # 10,000 and 100,000 rows
    python -m benchmarks scaling 10000 100000 1000000
    python -m benchmarks scaling --model svc 2000 4000 8000
    python -m benchmarks scaling --hashing 1048576 1000000   # features.hashing: no vocabulary
    python -m benchmarks scaling --hashing 1048576 --repro 1000000   # one `dvc repro` instead of the stages

For each size, a synthetic csv of that many texts (below) goes into a committed copy of the project as
its only source (`data.limit: null`, `model.type: linear_svc` or --model, the other params as committed), and each
stage runs once as `python -m stages.NAME` in that order: fetch, split, augment, train, evaluate, compare.
Per stage: wall time, CPU time (user + system), peak resident memory (the stage's own: the rusage of
a process that runs only it) and rows per second (rows of the dataset / wall seconds). Over the sizes,
the exponent b of a least-squares fit time ~ rows^b per stage, for wall and for CPU time (CPU time is
the steadier on a shared machine): 1 is linear, 2 quadratic; a stage's start-up (imports, a few
seconds) pulls b below 1 at small sizes. Prints a markdown table.

The texts: tweet-like lengths (words per text log-normal, median 18, 3 to 120), words drawn from a
Zipf law (exponent 1.1) over a 50,000-word vocabulary of pseudo-words of 2 to 10 letters, and one word
in six drawn from a 400-word vocabulary of the text's class (3 classes, shares 50/30/20): learnable, not
separable. 1% of texts repeat an earlier text (some with the other label) so that fetch's dedupe and
conflict handling work as on real data.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from mlkit.core.params import MODEL_TYPES
from mlkit.testing.bench import commit, env, load, project_copy

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


def measure(rows: int, model: str, hashing: int | None = None,
            stages: tuple[str, ...] = STAGES) -> dict[str, tuple[float, float, int]]:
    with project_copy() as project:
        source = project / "data" / "sources" / "synthetic.csv"
        source.parent.mkdir(parents=True, exist_ok=True)
        synthetic_csv(source, rows)
        params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
        params["data"].update(sources=[{"kind": "file", "path": "data/sources/synthetic.csv"}], limit=None)
        params["model"]["type"] = model
        if hashing:
            params["features"].update(hashing=hashing, min_df=1)
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="rows per run")
    parser.add_argument("--model", default="linear_svc", choices=MODEL_TYPES[:-1], help="model.type (linear_svc)")
    parser.add_argument("--hashing", type=int, default=None, metavar="N",
                        help="features.hashing N (and min_df 1): hashed columns instead of a vocabulary")
    parser.add_argument("--repro", action="store_true", help="time one `dvc repro` instead of each stage")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    print(f"command: python {' '.join(sys.argv)}", flush=True)
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
