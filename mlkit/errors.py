"""One error type for everything a user can get wrong, and the runner that reports it."""

from __future__ import annotations

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A problem with the user's input: reported as one line, never as a traceback."""


def run_main(main: Callable[[], None]) -> None:
    """Run a stage's main(); a PipelineError becomes `error: ...` on stderr and exit code 1."""
    try:
        main()
    except PipelineError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the cause held
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
