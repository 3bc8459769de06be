"""A heartbeat for long silent steps: a line with the elapsed time every few seconds, so a 40 s SVC fit
under `dvc repro` is visibly running instead of hanging."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def heartbeat(what: str, every: float = 10.0, out: TextIO | None = None) -> Iterator[None]:
    """Print `WHAT: N s so far` every `every` seconds while the block runs; nothing for a quick block."""
    stream = out or sys.stdout
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            print(f"{what}: {time.perf_counter() - started:.0f} s so far", file=stream, flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
