"""One error type for everything a user can get wrong, and the runner that reports it."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

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


def report(message: str, exit_code: int) -> None:
    message = " ".join(message.split())  # one line, whatever the cause held
    if os.environ.get("DVC_STAGE"):  # DVC removed the stage's outs before running it
        message += RESTORE
    print(f"error: {message}", file=sys.stderr)
    sys.exit(exit_code)


def run_main(main: Callable[[], None]) -> None:
    """Run a tool's or stage's main(); a PipelineError, or an OSError of the machine (full disk, read-only
    folder), becomes `error: ...` on stderr and a non-zero exit code."""
    try:
        main()
    except PipelineError as exc:
        report(str(exc), exc.exit_code)
    except OSError as exc:
        message = system_error(exc)
        if message is None:
            raise
        report(message, 1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
