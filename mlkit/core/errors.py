"""One error type for everything a user can get wrong, and the runner that reports it."""

from __future__ import annotations

import _thread
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from mlkit.core import processes

# Inside a DVC stage (DVC removed its outs before running it): the command that brings them back.
RESTORE = " (the last good outputs are in DVC's cache: `dvc checkout` restores them)"


class PipelineError(Exception):
    """A problem with the user's input: reported as one line, never as a traceback."""

    exit_code = 1


class UsageError(PipelineError):
    """A command line that does not parse (an unknown option, a value of the wrong type): exit 2, as argparse."""

    exit_code = 2


def first_line(exc: BaseException, *, cause: bool = False, limit: int = 300) -> str:
    """An exception as one short line for an error message; `cause`: what it was raised from, if anything."""
    shown = (exc.__cause__ or exc) if cause else exc
    lines = str(shown).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else type(shown).__name__
    return text[:limit]


# What the machine, not the input, got wrong: said in one line with what to do, never as a traceback.
SYSTEM_ERRORS = {
    errno.ENOSPC: "free space there and run again",
    errno.EDQUOT: "free space within your quota and run again",
    errno.EROFS: "write somewhere else",
    errno.EACCES: "write somewhere you may, or fix the permissions",
    errno.EPERM: "write somewhere you may, or fix the permissions",
    errno.ENOTDIR: "a folder on that path is a file; name another path",
    errno.EISDIR: "that is a folder; name a file",
    errno.ENAMETOOLONG: "shorten the path",
    errno.EIO: "the disk reported an I/O error",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
}


def system_error(exc: OSError) -> str | None:
    """One line for an OSError the machine caused (full disk, read-only folder), or None for any other."""
    hint = SYSTEM_ERRORS.get(exc.errno or 0)
    if hint is None:
        return None
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or os.strerror(exc.errno or 0)}; {hint} (outputs already there are left as they were)"


def report(message: str, exit_code: int, *, outs: bool = True) -> None:
    """`outs`: the running stage has outs, which DVC removed before running it."""
    message = " ".join(message.split())  # one line, whatever the cause held
    if outs and os.environ.get("DVC_STAGE"):
        message += RESTORE
    print(f"error: {message}", file=sys.stderr)
    sys.exit(exit_code)


class Interrupted(BaseException):
    """SIGTERM, or the end of the dvc that started a stage: raised in the main thread, as Ctrl+C raises
    KeyboardInterrupt. A BaseException, so that no `except Exception` swallows it, and not a
    KeyboardInterrupt, which Typer turns into a bare exit code."""

    def __init__(self, why: str, exit_code: int):
        super().__init__(why)
        self.why = why
        self.exit_code = exit_code


class Stopped(PipelineError):
    """A tool interrupted (Ctrl+C, SIGTERM) that cleaned up after itself and says what it left: one line,
    exit 130 or 143."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


# At import, while the dvc that started a stage is surely there: a stage imports this module first
# (stages/__init__.py).
_PARENT = os.getppid()
_STARTED_BY = processes.dvc_ancestor()
_stop_reason: list[str] = []  # set by the parent watch before it interrupts the main thread


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    why = _stop_reason[0] if _stop_reason else "terminated (SIGTERM)"
    raise Interrupted(why, 128 + signal.SIGTERM)


GRACE = 10.0  # seconds the work gets to stop by itself (it may sit in C code) before the process exits


def stop_with_dvc(dvc_pid: int, *, poll: float = 0.5, grace: float = GRACE) -> threading.Thread:
    """A stage whose dvc is gone (kill -9 of `dvc repro`; a stage's parent outlives nothing) stops too,
    instead of running on as an orphan beside the next `dvc repro`: the main thread is interrupted as by
    SIGTERM, and if it is still busy `grace` seconds later (inside a C extension), the process exits."""
    def watch() -> None:
        # Reparented: the parent that started this process ended (dvc itself, or dvc before it was looked up).
        while processes.alive(dvc_pid) and os.getppid() == _PARENT:
            threading.Event().wait(poll)
        _stop_reason.append(f"the dvc process that started this stage (pid {dvc_pid}) has ended, so the stage "
                            "stops; nothing it did is kept")
        _thread.interrupt_main(signal.SIGTERM)
        threading.Event().wait(grace)
        processes.run_exit_hooks()
        print(f"error: {_stop_reason[0]}{RESTORE}", file=sys.stderr, flush=True)
        os._exit(128 + signal.SIGTERM)

    thread = threading.Thread(target=watch, name="stop-with-dvc", daemon=True)
    thread.start()
    return thread


def _exit_now(signum: int, frame: FrameType | None) -> None:
    why = "interrupted (Ctrl+C)" if signum == signal.SIGINT else "terminated (SIGTERM)"
    report(why, 128 + signum)  # SystemExit: unwinds the import under way, no traceback


def exit_on_interrupt() -> None:
    """Ctrl+C or SIGTERM before run_main (a stage's imports take seconds) also ends in one line; run_main
    then takes over. Called by stages/__init__.py when a stage runs as `python -m stages.NAME`."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _exit_now)
        signal.signal(signal.SIGTERM, _exit_now)


def run_main(main: Callable[[], None], *, outs: bool = True) -> None:
    """Run a tool's or stage's main(); a PipelineError, or an OSError of the machine (full disk, read-only
    folder), becomes `error: ...` on stderr and a non-zero exit code. Ctrl+C and SIGTERM end it with one
    line too (130, 143); inside a DVC stage the line names the command that restores its outputs (`outs`:
    the stage has some), and the stage stops when the dvc that started it ends."""
    try:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, _on_sigterm)
            if _STARTED_BY is not None:
                stop_with_dvc(_STARTED_BY)
        main()
    except PipelineError as exc:
        report(str(exc), exc.exit_code, outs=outs)
    except OSError as exc:
        message = system_error(exc)
        if message is None:
            raise
        report(message, 1, outs=outs)
    except Interrupted as exc:
        report(exc.why, exc.exit_code, outs=outs)
    except KeyboardInterrupt:
        report("interrupted (Ctrl+C)", 130, outs=outs)
