"""One error type for everything a user can get wrong, and the runner that reports it."""

from __future__ import annotations

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


def run_main(main: Callable[[], None]) -> None:
    """Run a tool's or stage's main(); a PipelineError becomes `error: ...` on stderr and its exit code."""
    try:
        main()
    except PipelineError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the cause held
        if os.environ.get("DVC_STAGE"):  # DVC removed the stage's outs before running it
            message += RESTORE
        print(f"error: {message}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
