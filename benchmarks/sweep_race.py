"""A large parallel sweep under load loses no point: `mlkit sweep` of 40 digits points with -j 4 on a loaded
machine, where DVC's celery queue can fail an experiment that finishes beside another (treeverse/dvc#10673,
`... without a confirmation. Use -f to force`) and the sweep requeues it.

    python -m benchmarks sweep_race                 # 40 points, -j 4, 2 CPU-bound processes of extra load
    python -m benchmarks sweep_race --points 8      # a shorter run: checks that the script works

In a committed copy of the project on the digits preset with its baseline committed (fetch, split and
augment come from the cache), `--burn` busy processes run beside the sweep. Counts the points that
succeeded, the requeues the sweep reported, and the wall time; writes docs/studies/results/sweep_race.{json,md},
which docs/studies/queue.md includes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time

from mlkit.testing.bench import commit, env, load, project_copy, record, run, table


def burn() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--burn", type=int, default=2, help="busy processes beside the sweep (load)")
    args = parser.parse_args()
    values = [f"{0.5 + i * 0.05:g}" for i in range(args.points)]
    with project_copy() as project:
        run("mlkit preset digits", project)
        run("dvc repro", project)
        commit(project, "digits: baseline run")
        burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.burn)]
        for process in burners:
            process.start()
        try:
            before = load().replace("load average ", "")  # the figures; the page says what they are
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "mlkit", "sweep", "-S", f"model.C={','.join(values)}",
                                   "-j", str(args.jobs), "--name", "race"], cwd=project, env=env(), text=True,
                                  capture_output=True)
            seconds = time.monotonic() - started
        finally:
            for process in burners:
                process.kill()
        log = done.stderr
        failed = log.count("\nfailed: race-") + log.startswith("failed: race-")
        requeued = sum(int(line.split()[1]) for line in log.splitlines() if line.startswith("requeued "))
        if done.returncode != 0:
            print(log[-3000:], file=sys.stderr)
    # each point's final attempt that succeeded says `success: NAME (...)`; a requeued attempt replaces a failure
    kept = len({line.split()[1] for line in log.splitlines() if line.startswith("success: race-")})
    headers = ["sweep", "points", "completed", "requeued", "failed attempts", "exit", "wall s", "load before (1, 5, 15 min)"]
    rows = [[f"digits, model.C x {args.points}, -j {args.jobs}, {args.burn} busy processes", args.points, kept,
             requeued, failed, done.returncode, f"{seconds:.0f}", before]]
    print(table(headers, rows))
    print(f"written: {record('sweep_race', {'points': args.points, 'completed': kept, 'requeued': requeued, 'failed_attempts': failed, 'exit': done.returncode, 'wall_s': seconds, 'jobs': args.jobs, 'busy_processes': args.burn, 'stderr_tail': log[-2000:] if done.returncode else ''}, headers, rows)}")


if __name__ == "__main__":
    main()
