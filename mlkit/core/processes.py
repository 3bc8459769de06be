"""Other processes, through psutil: alive or ended, their parent, what they run.

Where the system will not tell (a process of another user on macOS), a process that exists counts as alive
and as running no dvc.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil


def alive(pid: int) -> bool:
    """The process exists and has not ended: a zombie (exited, not yet reaped) has ended too."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # someone else's process, but there
        return True


def parent(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def command_line(pid: int) -> list[str]:
    """The process's arguments; [] when it ended or the system will not say."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def is_dvc(pid: int) -> bool:
    """A process running dvc: `.../dvc ARGS` or `python -m dvc ARGS`."""
    args = command_line(pid)
    return any(Path(a).name == "dvc" for a in args[:2]) or args[1:3] == ["-m", "dvc"]


def runs(pid: int, word: str) -> bool:
    """One of the process's arguments contains `word`; True where the system will not tell (a pid that
    exists, as far as anyone can see, still runs what it ran)."""
    try:
        return any(word in arg for arg in psutil.Process(pid).cmdline())
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # no access
        return True


def dvc_ancestor() -> int | None:
    """The dvc process that runs this stage (DVC sets DVC_STAGE for its commands); None outside DVC, or
    the parent process where the system cannot tell."""
    if "DVC_STAGE" not in os.environ:
        return None
    pid: int | None = os.getppid()
    for _ in range(4):  # dvc -> (a shell) -> this process
        if pid is None or pid <= 1:
            break
        if is_dvc(pid):
            return pid
        pid = parent(pid)
    return os.getppid()


_exit_hooks: list[Callable[[], None]] = []


def at_forced_exit(hook: Callable[[], None]) -> None:
    """Run `hook` before the process ends by os._exit (a stage whose dvc ended, stuck in C code): atexit
    handlers and `finally` blocks do not run then."""
    _exit_hooks.append(hook)


def run_exit_hooks() -> None:
    for hook in _exit_hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 - the process is ending; one hook's failure must not stop the others
            pass
