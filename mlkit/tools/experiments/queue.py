"""Sweeps through DVC's experiment queue: check, queue a grid (grid.py), run it, follow it, read it back.

Queue states come from DVC's queue API (what `dvc queue status` prints), failure logs from `dvc queue
logs`, results from `dvc.api.exp_show` (results.py).
"""

from __future__ import annotations

import posixpath
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlkit.core.errors import Interrupted, PipelineError, Stopped
from mlkit.core.params import PARAMS_FILE, load_params
from mlkit.core.source_params import FileSource
from mlkit.core.vcs import head, read_at, ref_names, uncommitted, untracked, valid_ref_name
from mlkit.tools.experiments import dvc_experiments
from mlkit.tools.experiments.grid import Grid, apply_overrides, expand, validate_grid
from mlkit.tools.experiments.queue_workers import (
    cancel,
    fail_orphans,
    live_workers,
    lost_tasks,
    mark_failed,
    queue_status,
    repair,
    start_workers,
    stop_workers,
)
from mlkit.tools.experiments.results import exp_rows

# A queued experiment is built from a git stash of the workspace: uncommitted edits here would either be
# missing from it (untracked files) or make it differ from the commit it is recorded against.
SOURCES = "data/sources"
WATCHED = ("params.yaml", "dvc.yaml", "stages", "mlkit", SOURCES)
LOG_TAIL = 25
DONE = ("Success", "Failed")
ORPHAN_GRACE = 15.0  # seconds without a live worker before an unfinished task counts as lost
HEARTBEAT = 30.0  # seconds without a finished experiment before wait says what is running
RETRIES = 2  # times a sweep requeues a point lost to a dead worker or to DVC's parallel-queue race
# DVC's celery queue, two experiments finishing at once: one fails checking out the other's outputs
# (treeverse/dvc#10673). The point itself is fine: it is requeued.
RACE = "without a confirmation. Use `-f` to force"  # dvc.exceptions.ConfirmRemoveError


# ---------------------------------------------------------------- preconditions
def unread_sources(root: Path) -> set[str]:
    """Untracked files under data/sources/ that no source in params.yaml reads, such as an import that
    `git checkout` left behind from a branch that added it: the experiments never open them."""
    read = [posixpath.normpath(source.path) for source in load_params(root / PARAMS_FILE).data.sources
            if isinstance(source, FileSource)]
    return {path for path in untracked([SOURCES], root)
            if not any(path == name or path.startswith(name + "/") for name in read)}


def check_committed(root: Path) -> None:
    """Queued experiments start from the commit (a git stash of tracked files): refuse uncommitted code."""
    unread = unread_sources(root)
    changed = [path for path in uncommitted(WATCHED, root) if path not in unread]
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise PipelineError(f"uncommitted changes in {shown}: queued experiments see only what the last commit "
                            "holds and would not see them; commit them (or `git stash`) first")


def experiment_names(grid: Grid, prefix: str | None) -> list[str] | None:
    """The names DVC will give (`dvc exp run --queue -n PREFIX`); None: DVC picks random ones."""
    if prefix is None:
        return None
    return [f"{prefix}-{i}" for i in range(1, len(grid) + 1)] if grid.is_sweep else [prefix]


def check_names(names: Iterable[str], root: Path) -> None:
    """DVC refuses to queue a name this commit already has an experiment under; say so before queueing."""
    names = list(names)
    for name in names:
        if not valid_ref_name(f"refs/exps/x/{name}", root):
            raise PipelineError(f"--name: {name!r} is not a valid experiment name (a git ref name)")
    sha = head(root)
    refs = ref_names(f"refs/exps/{sha[:2]}/{sha[2:]}/", root)
    taken = sorted({r.rsplit("/", 1)[-1] for r in refs} & set(names))
    if taken:
        raise PipelineError(f"--name: experiment(s) {', '.join(taken)} already exist for this commit; choose "
                            f"another --name or remove them (dvc exp remove {' '.join(taken)})")


# ---------------------------------------------------------------- the queue
def check_queue_idle(root: Path, linger: float = 15.0) -> None:
    """Nothing else queued or running, and no worker of an earlier run still about to exit.

    A worker stays up to 10 s after the queue empties; a task queued in that window can be taken by a
    worker that is shutting down and then shows `Running` forever. So a new sweep waits for them to end,
    and stops workers that outstay that with nothing to do (on a loaded machine one can hang on exit).
    """
    fail_orphans(root)
    if not live_workers(root):
        repair(root)
    busy = [e for e in queue_status(root) if e["status"] not in DONE]
    if busy:
        raise PipelineError(f"the experiment queue already holds {len(busy)} queued or running experiment(s) "
                            "(`dvc queue status`); queue workers would run them with this sweep: wait for them, "
                            "or `dvc queue remove --queued`")
    deadline = time.monotonic() + linger
    while live_workers(root) and time.monotonic() < deadline:
        time.sleep(0.5)
    stop_workers(root)  # any still there are idle: the queue holds nothing for them, so nothing is lost
    if pids := live_workers(root):
        raise PipelineError(f"queue workers of an earlier run are still alive (pid {', '.join(map(str, pids))}) "
                            "with nothing to do and outlived TERM and KILL; `dvc queue stop --kill` ends them")


def enqueue(grid: Grid, prefix: str | None, root: Path) -> list[str]:
    """`dvc exp run --queue -S ...` once for the whole grid; returns the new tasks' stash revs."""
    before = {e["rev"] for e in queue_status(root)}
    dvc_experiments.queue_experiments(grid.set_params, prefix, root)
    new = [e["rev"] for e in queue_status(root) if e["rev"] not in before]
    if len(new) != len(grid):
        raise PipelineError(f"queued {len(new)} experiment(s) where the grid has {len(grid)}: another queue "
                            "user at the same time? See `dvc queue status`")
    return new


@dataclass
class Outcome:
    rev: str
    name: str
    status: str
    lost: bool = False  # its worker died: marked failed by wait


def wait(revs: Sequence[str], jobs: int, root: Path, *, poll: float = 1.0, timeout: float | None = None,
         stop: bool = False, report: Callable[[str], None] = lambda line: None,
         heartbeat: float = HEARTBEAT) -> list[Outcome]:
    """`dvc queue start -j JOBS`, then follow the queue until every one of `revs` succeeded or failed.

    `dvc queue start` returns at once (the workers are background processes that end when the queue is
    empty); `dvc exp run --run-all` follows every queued task's log in turn, and can hang after its
    experiments finished (treeverse/dvc#10398). Neither says in its exit code whether an experiment
    failed: the queue's state does. Workers can also stop with tasks left queued (treeverse/dvc#10562):
    they are started again. `stop`: the caller owns the queue's workers (search, in its private clone):
    they are stopped at the end, and an interruption is left to the caller to clean up. `report` gets a line
    per finished experiment, and every `heartbeat` seconds without one, a line naming those running.
    """
    start_workers(jobs, root)
    started = last_line = time.monotonic()
    idle_since: float | None = None
    seen: dict[str, str] = {}
    lost: set[str] = set()
    suspects: dict[str, float] = {}  # running task -> since when it looks lost
    try:
        while True:
            states = {e["rev"]: e for e in queue_status(root) if e["rev"] in revs}
            finished = {r: e["status"] for r, e in states.items() if e["status"] in DONE}
            if finished != seen:
                for count, rev in enumerate(sorted(finished.keys() - seen.keys()), start=len(seen) + 1):
                    name = states[rev].get("name") or rev[:7]
                    report(f"{finished[rev].lower()}: {name} ({count}/{len(revs)}, "
                           f"{time.monotonic() - started:.0f} s)")
                seen = finished
                last_line = time.monotonic()
            elif time.monotonic() - last_line >= heartbeat:  # a long experiment: say what is running
                running = [e.get("name") or r[:7] for r, e in states.items() if e["status"] == "Running"]
                report(f"running: {', '.join(running) or 'none yet (queued)'} ({len(finished)}/{len(revs)} done, "
                       f"{time.monotonic() - started:.0f} s)")
                last_line = time.monotonic()
            if len(finished) == len(revs):
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise PipelineError(f"--timeout {timeout:g} s: {len(revs) - len(finished)} experiment(s) still "
                                    "queued or running (they go on: `dvc queue status`, `dvc queue kill NAME`)")
            running = [r for r, e in states.items() if e["status"] == "Running"]
            now = time.monotonic()
            suspects = {r: suspects.get(r, now) for r in lost_tasks(running, root)}
            if dead := [r for r, since in suspects.items() if now - since > ORPHAN_GRACE]:
                mark_failed(dead, root)  # a dead worker's task: failed, never `Running` for good
                lost.update(dead)
            if live_workers(root):
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since > ORPHAN_GRACE and any(e["status"] == "Queued" for e in states.values()):
                start_workers(jobs, root)  # the workers ended early (or were stopped): start what is missing
                idle_since = None
            time.sleep(poll)
    except (KeyboardInterrupt, Interrupted) as exc:
        if stop:
            raise
        killed, removed = cancel(revs, root)
        why, code = (exc.why, exc.exit_code) if isinstance(exc, Interrupted) else ("interrupted (Ctrl+C)", 130)
        raise Stopped(f"{why}: this sweep's {killed} running experiment(s) were killed and its {removed} queued "
                      f"one(s) removed; the {len(seen)} finished are kept (`dvc exp show`, `dvc queue status`), "
                      "and the next sweep can start", code) from None
    if stop:
        stop_workers(root)
    return [Outcome(r, states[r].get("name") or r[:7], states[r]["status"], r in lost) for r in revs]


def failure_log(rev: str, root: Path, lines: int = LOG_TAIL) -> str:
    """The end of `dvc queue logs` for one task."""
    text = [ln for ln in dvc_experiments.queue_log(rev, root).splitlines() if ln.strip()]
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------- the whole sweep
@dataclass
class SweepResult:
    grid: Grid
    outcomes: list[Outcome]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "Success"]


def raise_failures(result: SweepResult, root: Path = Path(".")) -> None:
    """Each failed experiment's name and the end of its queue log on stderr, then one error (exit 1)."""
    if not result.failed:
        return
    for outcome in result.failed:
        print(f"\nexperiment {outcome.name} failed; the end of `dvc queue logs {outcome.name}`:", file=sys.stderr)
        print(failure_log(outcome.rev, root), file=sys.stderr)
    names = ", ".join(o.name for o in result.failed)
    raise PipelineError(f"{len(result.failed)} of {len(result.outcomes)} experiment(s) failed: {names}")


def prepare(set_params: Sequence[str], prefix: str | None, root: Path) -> Grid:
    """Every check that can fail, before anything is queued."""
    grid = expand(set_params)
    check_committed(root)
    names = experiment_names(grid, prefix)
    if names is not None:
        check_names(names, root)
    else:
        head(root)
    validate_grid(grid, root / PARAMS_FILE)
    check_queue_idle(root)
    return grid


def sweep(set_params: Sequence[str], *, jobs: int = 2, prefix: str | None = None, root: Path = Path("."),
          timeout: float | None = None, report: Callable[[str], None] = lambda line: None,
          heartbeat: float = HEARTBEAT) -> SweepResult:
    grid = prepare(set_params, prefix, root)
    revs = enqueue(grid, prefix, root)
    report(f"queued {len(revs)} experiment(s); running them with {jobs} queue worker(s)")
    outcomes = wait(revs, jobs, root, timeout=timeout, report=report, heartbeat=heartbeat)
    for _ in range(RETRIES):
        again = [o for o in outcomes if o.status != "Success" and retryable(o, root)]
        if not again:
            break
        report(f"requeued {len(again)} experiment(s) that a dead queue worker or DVC's parallel-queue race "
               f"(treeverse/dvc#10673) failed: {', '.join(o.name for o in again)}")
        retried = dict(zip((o.rev for o in again), requeue(grid, again, root), strict=True))
        redone = {o.rev: o for o in wait(list(retried.values()), jobs, root, timeout=timeout, report=report,
                                          heartbeat=heartbeat)}
        outcomes = [redone[retried[o.rev]] if o.rev in retried else o for o in outcomes]
    if not any(e["status"] not in DONE for e in queue_status(root)):
        stop_workers(root)  # idle now: otherwise they linger ~10 s, and the next sweep waits for them
    names = [o.name for o in outcomes if o.status == "Success"]
    return SweepResult(grid, outcomes, exp_rows(root, names) if names else [])


def retryable(outcome: Outcome, root: Path) -> bool:
    """A failure of the queue, not of the point: its worker died, or DVC's parallel-queue race."""
    return outcome.lost or RACE in failure_log(outcome.rev, root, lines=200)


def requeue(grid: Grid, outcomes: Sequence[Outcome], root: Path) -> list[str]:
    """Queue the points of failed tasks again, one by one under the same names (the failed tasks leave the
    queue's records first); the new revs, in the same order."""
    base = root / PARAMS_FILE
    expected = [apply_overrides(base, point) for point in grid.points]
    new = []
    for outcome in outcomes:
        held = yaml.safe_load(read_at(outcome.rev, str(PARAMS_FILE), root))  # the task's stash commit
        point = next((p for p, want in zip(grid.points, expected, strict=True) if want == held), None)
        if point is None:
            raise PipelineError(f"experiment {outcome.name}: its params match no point of the grid; rerun the "
                                "sweep (`dvc queue status` lists it)")
        dvc_experiments.remove_tasks([outcome.rev], root)
        before = {e["rev"] for e in queue_status(root)}
        dvc_experiments.queue_experiments(point, outcome.name if outcome.name != outcome.rev[:7] else None, root)
        added = [e["rev"] for e in queue_status(root) if e["rev"] not in before]
        if len(added) != 1:
            raise PipelineError(f"requeueing {outcome.name} queued {len(added)} experiment(s): another queue "
                                "user at the same time? See `dvc queue status`")
        new.append(added[0])
    return new


def comma_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise PipelineError(f"{text!r}: expected comma-separated values")
    return items
