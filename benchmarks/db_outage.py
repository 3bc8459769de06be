"""A 2-minute database outage in the middle of a two-worker search: the budget is spent and no experiment is lost.

    python -m benchmarks db_outage [--workers 2] [--trials 4] [--outage 120] [--when telling running]
                                   [--preset digits]

In a temporary committed copy of the project on the preset (reproduced, outputs pushed): a bare git repository,
a real S3 server (`rclone serve s3`, mlkit/testing/s3server.py) and PostgreSQL on a Unix socket
(mlkit/testing/pgserver.py). The workers run `mlkit search` with its defaults (--heartbeat 30, --outage 300),
each in a folder of its own. PostgreSQL is stopped at once (`pg_ctl -m immediate`, as a crash would), kept down
for --outage seconds, then started again on the same data; once per scenario, each a new study on new workers:
`telling` stops it when the first trial is told (workers in the middle of their database calls), `running` 30 s
into the second round (trials running on every worker, their heartbeats going stale past Optuna's grace period).
Counted afterwards: the trials that completed against the budget, the trials failed and rerun, and the lost
experiments: a completed trial whose experiment a fresh clone cannot pull with its outputs (`dvc exp pull`,
`dvc exp apply`, `dvc status -c`). Writes docs/studies/results/db_outage.{json,md},
which docs/tutorials/workers.md includes.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks._search_site import CREDS, SPACE, published
from mlkit.testing import git
from mlkit.testing.bench import env, load, record, table
from mlkit.testing.pgserver import PgServer

TOLD = re.compile(r"^trial \d+: \S+ valid\.accuracy = ")
ASKED = re.compile(r"^trial (\d+): \S+ model\.")
BACK = re.compile(r"^database .* back after (\d+) s")


class Worker(threading.Thread):
    """A worker process whose output lines are kept. `told` is set at the first told trial, `second` when a
    trial of the second round (its number at least `workers`) starts."""

    def __init__(self, command: list[str], home: Path, told: threading.Event, second: threading.Event,
                 workers: int):
        super().__init__(daemon=True)
        self.process = subprocess.Popen(command, cwd=home, env={**env(), **CREDS}, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.told, self.second, self.workers = told, second, workers

    def run(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            print(f"  [{self.name}] {line.rstrip()}", flush=True)
            if TOLD.match(line):
                self.told.set()
            if (asked := ASKED.match(line)) and int(asked.group(1)) >= self.workers:
                self.second.set()
        self.process.wait()


def lost_experiments(names: list[str], remote: Path, viewer: Path) -> list[str]:
    """The named experiments that a fresh clone (`viewer`) cannot pull with every output in sync on the DVC
    remote."""
    git("clone", "-q", str(remote), str(viewer), cwd=remote.parent)
    lost = []
    for name in names:
        steps = [["dvc", "exp", "pull", str(remote), name], ["dvc", "exp", "apply", name], ["dvc", "status", "-c"]]
        for step in steps:
            done = subprocess.run([sys.executable, "-m", *step], cwd=viewer, env={**env(), **CREDS},
                                  capture_output=True, text=True)
            if done.returncode != 0 or (step[1] == "status" and "in sync" not in done.stdout):
                lost.append(name)
                print(f"lost: {name}: {' '.join(step)}: {(done.stdout + done.stderr).strip()[-300:]}")
                break
        git("checkout", "-q", "--", ".", cwd=viewer)
    return lost


WHEN = {"telling": "when the first trial is told (a worker telling, the other's trial ending)",
        "running": "30 s after the second round's first trial starts (trials running on both workers)"}


def scenario(when: str, args: argparse.Namespace, pg: PgServer, remote: Path, tmp: Path) -> dict:
    """One study on fresh workers, the database stopped `when` for --outage seconds; what became of it."""
    import optuna

    study = f"outage-{when}"
    command = [sys.executable, "-m", "mlkit", "search", "--study", study, "--trials", str(args.trials),
               "--metric", "valid.accuracy", *SPACE, "--git-remote", str(remote), "--dvc-remote", "store",
               "--storage", pg.url]
    told, second = threading.Event(), threading.Event()
    started = time.perf_counter()
    workers = []
    for i in range(args.workers):
        home = tmp / f"{study}-{i}"
        home.mkdir()
        workers.append(Worker([*command, "--workdir", str(home)], home, told, second, args.workers))
        workers[-1].name = f"{when}-{i}"
        workers[-1].start()
    if not (told if when == "telling" else second).wait(timeout=3600):
        raise RuntimeError(f"{study}: the moment to stop the database never came")
    if when == "running":
        time.sleep(30)
    down = time.perf_counter()
    pg.stop(mode="immediate")
    print(f"database stopped {down - started:.0f} s after the workers' start", flush=True)
    time.sleep(args.outage)
    pg.start()
    outage = time.perf_counter() - down
    print(f"database started again after {outage:.0f} s", flush=True)
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    codes = [worker.process.returncode for worker in workers]
    trials = optuna.load_study(study_name=study, storage=pg.url).trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    rerun = [t for t in trials if t.system_attrs.get("failed_trial") is not None]
    lost = lost_experiments([t.user_attrs["experiment"] for t in complete], remote, tmp / f"{study}-viewer")
    waits = [int(m.group(1)) for worker in workers for line in worker.lines if (m := BACK.match(line))]
    return {"when": when, "outage_s": outage, "complete": len(complete), "failed": len(failed),
            "failed_reasons": [t.user_attrs.get("fail_reason") for t in failed], "rerun": len(rerun),
            "lost_experiments": lost, "exit_codes": codes, "waits_s": waits, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--outage", type=float, default=120.0, help="seconds the database stays down")
    parser.add_argument("--when", nargs="+", choices=list(WHEN), default=list(WHEN))
    parser.add_argument("--preset", default="digits")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()})")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}")
    with published(args.preset, "mlkit-outage-") as (tmp, remote, pg):
        print(f"before: {load()}")
        results = [scenario(when, args, pg, remote, tmp) for when in args.when]
        print(f"after: {load()}\n")
    headers = ["database stopped", "outage s", "budget", "complete", "failed", "rerun", "lost experiments",
               "workers' waits s", "exit codes", "wall s"]
    rows = [(r["when"], r["outage_s"], args.trials, r["complete"], r["failed"], r["rerun"], len(r["lost_experiments"]),
             " ".join(map(str, r["waits_s"])) or "-", " ".join(map(str, r["exit_codes"])), r["wall_s"])
            for r in results]
    print(table(headers, rows))
    numbers = {"preset": args.preset, "workers": args.workers, "budget": args.trials, "outage": args.outage,
               "scenarios": results}
    note = (f"`mlkit search` with {args.workers} workers and a budget of {args.trials} trials on the "
            f"`{args.preset}` preset, with its defaults (--heartbeat 30, --outage 300); PostgreSQL stopped at once "
            f"(`pg_ctl -m immediate`) and started again {args.outage:g} s later: "
            + "; ".join(f"*{w}*: {WHEN[w]}" for w in args.when)
            + ". Failed: trials ended FAIL; rerun: trials that retry a failed one with its params; lost "
            "experiments: completed trials whose experiment a fresh clone cannot pull with its outputs in sync; "
            "workers' waits: each worker's `database ... back after N s` line, none where only its heartbeat "
            "thread met the outage")
    print(f"written: {record('db_outage', numbers, headers, rows, note=note)}")


if __name__ == "__main__":
    main()
