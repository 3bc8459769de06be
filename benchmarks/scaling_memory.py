"""The in-memory path's scaling: each stage's time and memory with hashed features, with a vocabulary, and one
`dvc repro`, as a result file.

    python -m benchmarks scaling_memory                              # 10,000 and 100,000 rows, every config
    python -m benchmarks scaling_memory --configs repro 100000       # only some configurations
    python -m benchmarks scaling_memory --log hashing=run.log ...    # a configuration from a run's stage lines

The measurements are benchmarks/scaling.py's `measure` (synthetic texts in a committed copy of the project,
`data.streaming: false`, `model.type: linear_svc`, each stage once as its own process): `hashing` sets
`features.hashing: 1048576` and `min_df: 1`; `vocabulary` keeps the committed features; `repro` times one
`dvc repro` of every stage with hashed features, at the largest size. `--log CONFIG=PATH` reads a
configuration's figures from the stage lines a run printed (this one or `scaling --in-memory`) instead of
running it. Writes docs/studies/results/scaling_memory.{json,md} after each configuration, one table per
configuration, which docs/studies/scaling.md includes.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from benchmarks.scaling import STAGES, exponent, measure
from mlkit.testing.bench import load, record

HASHING = 1_048_576
CONFIGS = {"hashing": (HASHING, STAGES), "vocabulary": (None, STAGES), "repro": (HASHING, ("dvc repro",))}
NOTES = {"hashing": f"Hashed features: `features.hashing: {HASHING}`, `min_df: 1`; each stage alone",
         "vocabulary": "A vocabulary: the committed features (word 1-2-grams, `min_df: 2`); each stage alone",
         "repro": f"The whole pipeline: one `dvc repro` of every stage, `features.hashing: {HASHING}`, `min_df: 1`"}
LINE = re.compile(r"^(\d+) rows: ([\w ]+?) ([\d.]+) s, CPU ([\d.]+) s, (\d+) MiB$", re.MULTILINE)
Measured = dict[int, dict[str, tuple[float, float, int]]]


def from_log(path: Path, stages: tuple[str, ...]) -> Measured:
    """The sizes whose every stage has a line in the log."""
    found: Measured = {}
    for rows, stage, wall, cpu, mib in LINE.findall(path.read_text(encoding="utf-8")):
        if stage in stages:
            found.setdefault(int(rows), {})[stage] = (float(wall), float(cpu), int(mib) * 2**20)
    return {rows: found[rows] for rows in sorted(found) if set(found[rows]) == set(stages)}


def section(config: str, measured: Measured) -> tuple[str, list[str], list[list[object]]]:
    """One configuration's table: per stage and size wall s / CPU s / peak MiB / rows per second, the exponents."""
    sizes = sorted(measured)
    stages = CONFIGS[config][1]
    head = ["stage", *(f"{r:,} rows: wall s / CPU s / peak MiB / rows/s" for r in sizes)]
    head += ["wall ~ rows^b", "CPU ~ rows^b"] if len(sizes) > 1 else []
    rows: list[list[object]] = []
    for stage in (*stages, "total") if len(stages) > 1 else stages:
        cells, walls, cpus = [], [], []
        for size in sizes:
            if stage == "total":  # the stages' times summed, the largest peak
                wall, cpu = (sum(v[i] for v in measured[size].values()) for i in (0, 1))
                peak = max(v[2] for v in measured[size].values())
            else:
                wall, cpu, peak = measured[size][stage]
            walls.append(wall)
            cpus.append(cpu)
            cells.append(f"{wall:.1f} / {cpu:.1f} / {peak / 2**20:,.0f} / {size / wall:,.0f}")
        fits = [exponent(sizes, t) for t in (walls, cpus)] if len(sizes) > 1 else []
        rows.append([stage, *cells, *("-" if b is None else f"{b:.2f}" for b in fits)])
    return NOTES[config] + ("; total: the stages' times summed, the largest peak" if len(stages) > 1 else ""), head, rows


def write(done: dict[str, Measured]) -> None:
    tables = [section(config, measured) for config, measured in done.items()]
    numbers = {config: {str(size): {stage: {"wall_s": w, "cpu_s": c, "peak_bytes": p}
                                    for stage, (w, c, p) in stages.items()} for size, stages in measured.items()}
               for config, measured in done.items()}
    (note, head, rows), *more = tables
    print(f"written: {record('scaling_memory', numbers, head, rows, note=note, more=more)} ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks scaling_memory")
    parser.add_argument("sizes", nargs="*", type=int, help="rows per run (10,000 and 100,000)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"some of {','.join(CONFIGS)}")
    parser.add_argument("--log", action="append", default=[], metavar="CONFIG=PATH",
                        help="a configuration's figures from the stage lines of a run's log")
    args = parser.parse_args()
    sizes = sorted(args.sizes or [10_000, 100_000])
    configs = args.configs.split(",")
    logs = dict(item.split("=", 1) for item in args.log)
    unknown = sorted(set(configs) - set(CONFIGS)) + sorted(set(logs) - set(configs))
    if unknown:
        parser.error(f"unknown or unselected configuration(s): {', '.join(unknown)}")
    done: dict[str, Measured] = {}
    for config in configs:
        hashing, stages = CONFIGS[config]
        if config in logs:
            done[config] = from_log(Path(logs[config]), stages)
        else:
            wanted = sizes[-1:] if config == "repro" else sizes
            done[config] = {rows: measure(rows, "linear_svc", hashing, stages) for rows in wanted}
        write(done)


if __name__ == "__main__":
    main()
