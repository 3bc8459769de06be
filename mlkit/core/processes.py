"""Other processes as /proc shows them (Linux): alive or ended, their parent, whether they run dvc.

Where /proc cannot tell (macOS, no access), a process that exists counts as alive and running no dvc.
"""

from __future__ import annotations

import os
from pathlib import Path


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """/proc/PID/stat's state letter and parent pid; the name before them may hold spaces and ')'."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """The process exists and has not ended: a zombie (exited, not yet reaped) has ended too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, but there
        pass
    found = _state_and_parent(pid)
    return found is None or found[0] != "Z"


def parent(pid: int) -> int | None:
    found = _state_and_parent(pid)
    return None if found is None else found[1]


def command_line(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def is_dvc(pid: int) -> bool:
    """A process running dvc: `.../dvc ARGS` or `python -m dvc ARGS`."""
    args = command_line(pid)
    return any(Path(a.decode(errors="replace")).name == "dvc" for a in args[:2]) or args[1:3] == [b"-m", b"dvc"]


def dvc_ancestor() -> int | None:
    """The dvc process that runs this stage (DVC sets DVC_STAGE for its commands); None outside DVC, or
    the parent process where /proc cannot tell."""
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
