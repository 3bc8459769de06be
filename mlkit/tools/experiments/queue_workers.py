"""DVC's queue workers and their tasks: start and stop the workers, list them and the queue, and mark failed,
cancel or repair what a dead worker (kill -9, a crash) or an interrupted sweep leaves behind (queue.py's faults)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlkit.core.devices import share_cpus
from mlkit.core.processes import alive, parent, runs
from mlkit.core.vcs import env
from mlkit.tools.experiments import dvc_experiments

WORKERS = Path(".dvc/tmp/exps/celery")  # DVC's queue workers: NAME.json (pid, returncode), NAME.out (log)


def start_workers(jobs: int, root: Path) -> None:
    """`dvc queue start -j JOBS` (dvc_experiments.start_queue_workers); the workers' experiments share the CPUs
    (`share_cpus`)."""
    workers_env = env()
    share_cpus(jobs, workers_env)
    dvc_experiments.start_queue_workers(jobs, root, workers_env)


def stop_workers(root: Path) -> None:
    """TERM this repository's queue workers; KILL any still there after a grace period. An idle worker
    otherwise lingers about 10 s, and one can hang while it shuts down by itself."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        deadline = time.monotonic() + grace
        for pid in live_workers(root):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:  # ended since it was listed
                continue
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)


def queue_status(root: Path) -> list[dict[str, Any]]:
    """What `dvc queue status` lists: dicts with rev (the task's stash commit), name and status."""
    return dvc_experiments.queue_status(root)


def live_workers(root: Path) -> list[int]:
    """Process ids of this repository's queue workers still alive (DVC's records in WORKERS).

    Not `celery_queue.worker_status()`: it asks workers through a celery broadcast, which DVC's filesystem
    broker does not carry (treeverse/dvc-task#16), so it answers {} with workers running. The records are
    the ones dvc_task's ManagedProcess writes for each worker DVC spawns (celery.py, `_spawn_worker`).
    """
    pids = []
    for record in (root / WORKERS).glob("dvc-exp-worker-*.json"):
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pid = info.get("pid")
        if info.get("returncode") is None and isinstance(pid, int) and alive(pid) and _is_worker(pid):
            pids.append(pid)
    return pids


def _is_worker(pid: int) -> bool:
    """A record outlives a worker killed with its wrapper; its pid may since belong to another process.
    Where the system will not show its command line, DVC's record is trusted."""
    return runs(pid, "queue-worker")


def fail_orphans(root: Path) -> list[str]:
    """Tasks shown as running with no queue worker alive at all (killed with kill -9, or a crash): each is
    marked failed (its experiment process killed first if it runs on), so that none shows `Running` for
    good and blocks the next sweep. Their names."""
    if live_workers(root):
        return []
    running = [e for e in queue_status(root) if e["status"] == "Running"]
    if running:
        mark_failed([e["rev"] for e in running], root)
    return [e.get("name") or e["rev"][:7] for e in running]


def mark_failed(revs: Sequence[str], root: Path) -> None:
    """Tasks whose worker died: an experiment process still running is killed, then each task is marked
    failed (dvc_experiments.fail_tasks)."""
    for force, grace in ((False, 10), (True, 5)):  # interrupted first: DVC and the stage end cleanly
        if runs_on := [rev for rev in revs if _task_runs(rev, root)]:
            dvc_experiments.kill_tasks(runs_on, root, force=force)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_task_runs(rev, root) for rev in revs):
            time.sleep(0.2)
    dvc_experiments.fail_tasks(revs, root)
    repair(root)


def repair(root: Path) -> None:
    """A process killed while writing DVC's lock file leaves it unreadable, and DVC refuses every command."""
    for path in dvc_experiments.repair_rwlocks(root):
        print(f"warning: {path} was cut off by a killed process; removed (it held no live lock)",
              file=sys.stderr, flush=True)


def _task_runs(rev: str, root: Path) -> bool:
    proc = dvc_experiments.task_process(rev, root)
    return proc is not None and proc[1] is None and alive(proc[0])


def lost_tasks(running: Sequence[str], root: Path) -> list[str]:
    """Of the running tasks, those whose worker died (kill -9): more tasks running than workers alive, and
    the task's experiment process is not the child of a live worker (ended uncollected, or never started)."""
    workers = set(live_workers(root))
    if len(running) <= len(workers):
        return []
    return [rev for rev in running
            if (proc := dvc_experiments.task_process(rev, root)) is None or not alive(proc[0])
            or parent(proc[0]) not in workers]


def cancel(revs: Sequence[str], root: Path) -> tuple[int, int]:
    """Stop what is left of a sweep: its queued tasks leave the queue, its running ones are killed (marked
    failed), and the queue's workers end. (running killed, queued removed)"""
    states = {e["rev"]: e["status"] for e in queue_status(root) if e["rev"] in revs}
    queued = [r for r, st in states.items() if st == "Queued"]
    if queued:
        dvc_experiments.remove_tasks(queued, root)
    running = [e["rev"] for e in queue_status(root) if e["rev"] in revs and e["status"] == "Running"]
    if running:
        dvc_experiments.kill_tasks(running, root, force=False)  # interrupted; its worker records it failed
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                e["status"] == "Running" for e in queue_status(root) if e["rev"] in running):
            time.sleep(0.5)
    stop_workers(root)
    fail_orphans(root)  # a worker stopped before it recorded its task
    repair(root)
    return len(running), len(queued)
