"""The same 8-trial search with 1 worker and with 2, each worker in a folder of its own (as on separate machines).

    python -m benchmarks search_workers [--trials 8] [--preset digits]

In a temporary committed copy of the project on the preset (reproduced, outputs pushed): a bare git repository,
a real S3 server (`rclone serve s3`, mlkit/testing/s3server.py) and PostgreSQL on a Unix socket (mlkit/testing/pgserver.py).
Each run is a new study of the same space; the wall time counts from the workers' start to the last one's exit,
clones and `dvc pull` included. Both workers share this one machine here, so the ratio is a floor of what two
machines give: on separate machines they would not compete for the same cores.
Writes docs/studies/results/search_workers.{json,md,svg} (the table and the speed-up against the ideal),
which docs/studies/search.md includes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._search_site import CREDS, SPACE, published
from mlkit.testing.bench import env, load, plot, record, table


def study(workers: int, trials: int, name: str, remote: Path, storage: str, tmp: Path) -> float:
    """Wall seconds for `workers` workers to spend a budget of `trials`."""
    command = [sys.executable, "-m", "mlkit", "search", "--study", name, "--trials", str(trials),
               "--metric", "valid.accuracy", *SPACE, "--git-remote", str(remote), "--dvc-remote", "store",
               "--storage", storage]
    started = time.perf_counter()
    processes = []
    for i in range(workers):
        home = tmp / f"{name}-{i}"
        home.mkdir()
        processes.append(subprocess.Popen([*command, "--workdir", str(home)], cwd=home, env={**env(), **CREDS},
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate()[0] for p in processes]
    seconds = time.perf_counter() - started
    for p, out in zip(processes, outputs):
        if p.returncode != 0:
            raise RuntimeError(f"a worker of {name} failed:\n{out}")
    print(outputs[0].strip().splitlines()[-4])  # the study's summary line
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--preset", default="digits")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()})")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}")
    with published(args.preset, "mlkit-workers-") as (tmp, remote, pg):
        print(f"before: {load()}")
        one = study(1, args.trials, "one", remote, pg.url, tmp)
        two = study(2, args.trials, "two", remote, pg.url, tmp)
        print(f"after: {load()}\n")
    headers = ["workers", "trials", "wall s", "s per trial", "speed-up"]
    rows = [(1, args.trials, one, one / args.trials, 1.0), (2, args.trials, two, two / args.trials, one / two)]
    print(table(headers, rows))
    print(f"\nspeed-up with 2 workers: {one / two:.2f}x (1 worker / 2 workers wall time)")
    numbers = {"preset": args.preset, "trials": args.trials, "one_worker_s": one, "two_workers_s": two,
               "speed_up": one / two}
    note = (f"`mlkit search`, {args.trials} trials, on the `{args.preset}` preset (`model.C` x `model.gamma`) with "
            "1 and with 2 workers on one machine; speed-up: 1 worker's wall time / 2 workers'")
    print(f"written: {record('search_workers', numbers, headers, rows, note=note)}")
    figure = plot("search_workers", {"measured": ([1, 2], [1.0, one / two], None), "ideal": ([1, 2], [1, 2], None)},
                  x_label="workers", y_label="speed-up (1 worker's wall time / theirs)",
                  title=f"{args.trials}-trial search, {args.preset} preset")
    print(f"written: {figure}")


if __name__ == "__main__":
    main()
