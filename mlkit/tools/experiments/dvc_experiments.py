"""DVC's experiments and their queue, the one way the tools reach them (the rest of DVC: dvc_repo.py):
queueing, the queue's state and logs, its workers, applying and pushing experiments, their results.

The `dvc` program runs where the API cannot do it: see dvc_repo.py's docstring.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import redirect_stdout
from typing import Any

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.vcs import env
from mlkit.tools.dvc_repo import Root, dvc_program, last_line, opened, quiet


def experiment_rows(root: Root = ".") -> list[dict[str, Any]]:
    """`dvc exp show`'s rows (`dvc.api.exp_show`): the baseline and each experiment, params and metrics."""
    import dvc.api

    return dvc.api.exp_show(repo=str(root))


def queue_experiments(set_params: Sequence[str], name: str | None = None, root: Root = ".") -> None:
    """`dvc exp run --queue -S ... [-n NAME]`: one experiment, or one per point of -S's grids (NAME-1, ...).

    By the program: DVC's API takes the paths it stages from the current folder (scmrepo's dulwich `add`), so
    in-process, queueing in another repository (a search's clone) writes `../` entries into its git index."""
    args = ["exp", "run", "--queue", *(a for s in set_params for a in ("-S", s)), *(["-n", name] if name else [])]
    done = dvc_program(args, root)
    if done.returncode != 0:
        raise PipelineError(f"`dvc exp run --queue` refused: {last_line(done)}")


def queue_status(root: Root = ".") -> list[dict[str, Any]]:
    """What `dvc queue status` lists: dicts with rev (the task's stash commit), name and status."""
    with opened(root) as repo:
        return repo.experiments.celery_queue.status()


def kill_tasks(revs: Sequence[str], root: Root = ".", force: bool = True) -> None:
    """`dvc queue kill [--force] REVS` (celery_queue.kill) for those of `revs` still running: each task's
    experiment process is killed (without force: interrupted, SIGINT to its process group, so that DVC
    and the stage end cleanly) and its worker records the task failed."""
    from dvc.exceptions import DvcException

    with quiet(), opened(root) as repo, redirect_stdout(sys.stderr):
        queue = repo.experiments.celery_queue
        running = {entry.stash_rev for entry in queue.iter_active()}
        for rev in revs:
            if rev in running:
                try:
                    queue.kill([rev], force=force)
                except (DvcException, ProcessLookupError):  # ended meanwhile
                    pass


def repair_rwlocks(root: Root = ".") -> list[str]:
    """DVC's read/write lock files for outputs (.dvc/tmp/rwlock, and .dvc/tmp/exps/rwlock for experiments)
    that a process killed while writing one left cut off: DVC then refuses every command until the file is
    deleted ("Unable to read RWLock-file ... JSON structure is corrupted"). Each is read under DVC's own
    guard for it (dvc.rwlock's RWLOCK_LOCK, taken as dvc.rwlock does), so no live writer is cut off; a
    corrupt one is removed, which DVC reads as "no locks held" (dead holders' entries it drops anyway). DVC
    has no API for this: its private files, named here. The files repaired."""
    import json
    from pathlib import Path

    from dvc.exceptions import DvcException
    from dvc.lock import make_lock
    from dvc.rwlock import RWLOCK_FILE, RWLOCK_LOCK

    repaired = []
    for lock_dir in (Path(root) / ".dvc" / "tmp", Path(root) / ".dvc" / "tmp" / "exps"):
        path = lock_dir / RWLOCK_FILE
        if not path.is_file():
            continue
        try:
            with make_lock(str(lock_dir / RWLOCK_LOCK), tmp_dir=str(lock_dir)):
                try:
                    json.loads(path.read_text(encoding="utf-8"))
                except ValueError:
                    path.unlink()
                    repaired.append(str(path))
        except (DvcException, OSError):  # held by a live dvc: it is not ours to touch
            continue
    return repaired


def fail_tasks(revs: Sequence[str], root: Root = ".") -> None:
    """Mark running tasks failed whose worker is gone and whose experiment process has ended (the caller
    checks both): `celery_queue.kill` marks a task failed when its process is already gone, which it
    learns from the queue's process manager (celery_queue.proc). An exited process nobody reaped (a
    zombie under an init that does not reap) still takes signals, so its record says it ended first."""
    from dvc.exceptions import DvcException

    with quiet(), opened(root) as repo, redirect_stdout(sys.stderr):
        queue = repo.experiments.celery_queue
        running = {entry.stash_rev for entry in queue.iter_active()}
        for rev in revs:
            if rev not in running:
                continue
            info = queue.proc.get(rev)
            if info is not None and info.returncode is None:
                info.returncode = -9
                queue.proc[rev] = info
            try:
                queue.kill([rev], force=True)
            except (DvcException, ProcessLookupError):
                pass


def remove_tasks(revs: Sequence[str], root: Root = ".") -> list[str]:
    """`dvc queue remove REVS` (celery_queue.remove): queued or finished tasks leave the queue's records;
    the revs removed."""
    with quiet(), opened(root) as repo:
        return list(repo.experiments.celery_queue.remove(list(revs)))


def task_process(rev: str, root: Root = ".") -> tuple[int, int | None] | None:
    """The experiment process (`dvc exp exec-run`) a running task started: (pid, return code once its worker
    saw it end), or None before it starts. From the queue's process manager (celery_queue.proc)."""
    with opened(root) as repo:
        info = repo.experiments.celery_queue.proc.get(rev)
    return None if info is None else (info.pid, info.returncode)


def apply_experiment(name: str, root: Root = ".") -> None:
    """`dvc exp apply NAME`: its parameters and outputs into the workspace."""
    from dvc.exceptions import DvcException

    with quiet(), opened(root) as repo, redirect_stdout(sys.stderr):
        try:
            repo.experiments.apply(name)
        except (DvcException, OSError) as exc:
            raise PipelineError(f"`dvc exp apply {name}` failed: {first_line(exc)}") from None


def start_queue_workers(jobs: int, root: Root = ".", environment: dict[str, str] | None = None) -> None:
    """`dvc queue start -j JOBS`. The workers it spawns inherit its stdout and stderr: through pipes, reading
    them to the end would wait for the last worker to exit, so they go to a file instead.

    The program, not `celery_queue.start_workers` in this process: the workers would inherit this process's
    stdout, and whoever reads the tool through a pipe (a test, a CI log) would then wait for the last worker."""
    with tempfile.TemporaryFile(mode="w+") as out:
        done = dvc_program(["queue", "start", "-j", str(jobs)], root, capture_output=False,
                            env=environment or env(), stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            out.seek(0)
            lines = [ln for ln in out.read().splitlines() if ln.strip()]
            raise PipelineError(f"`dvc queue start -j {jobs}` failed: {lines[-1] if lines else done.returncode}")


def kill_queue(root: Root = ".") -> None:
    """`dvc queue stop --kill`: the running experiments, then the workers; whatever it answers."""
    dvc_program(["queue", "stop", "--kill"], root)


def queue_log(rev: str, root: Root = ".") -> str:
    """One task's log (or DVC's word on why there is none)."""
    done = dvc_program(["queue", "logs", rev], root)
    return done.stdout + done.stderr


def push_experiments(git_remote: str, names: Sequence[str], dvc_remote: str | None = None,
                     root: Root = ".") -> str | None:
    """`dvc exp push GIT_REMOTE NAMES`, outputs to `dvc_remote` (else only the refs: --no-cache); why it
    failed, or None."""
    cache = ["-r", dvc_remote] if dvc_remote else ["--no-cache"]
    done = dvc_program(["exp", "push", *cache, git_remote, *names], root)
    return None if done.returncode == 0 else last_line(done)
