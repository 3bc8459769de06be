"""File I/O with two rules: an output is replaced only once its new version is complete, and only while
the dvc process that started the stage is alive.

A failed stage leaves no half-written output, and DVC's cache keeps the last good one (`dvc checkout`).
A stage whose dvc was killed (kill -9 of dvc alone leaves the stage running) discards its results
instead of swapping them in behind a dvc.lock that describes the old ones.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from mlkit.core.errors import PipelineError
from mlkit.core.processes import alive, at_forced_exit, dvc_ancestor

SCRATCH: set[Path] = set()  # scratch folders being filled: removed even when the process is made to exit


def _remove_scratch() -> None:
    for path in list(SCRATCH):
        shutil.rmtree(path, ignore_errors=True)


at_forced_exit(_remove_scratch)


@contextmanager
def replacing(target: Path | str, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a scratch path beside `target`; move it onto `target` only if the block succeeds."""
    target = Path(target)
    if not is_dir and target.is_dir() and not target.is_symlink():  # a file never replaces a whole folder
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file stands where a folder of the path should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target)) from None
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise named(exc, target) from None
    work = scratch / target.name
    SCRATCH.add(scratch)
    try:
        if is_dir:
            work.mkdir()
        try:
            yield work
        except OSError as exc:
            raise named(exc, target) from None
        check_dvc_alive(target)
        if target.is_dir() and not target.is_symlink():
            # A folder of several outputs (metrics/eval) also holds DVC's .gitignore for them: git's, not ours.
            ignore = target / ".gitignore"
            if ignore.is_file() and not (work / ".gitignore").exists():
                shutil.copy2(ignore, work / ".gitignore")
            old = scratch / ".old"
            target.rename(old)  # a directory cannot be swapped in one step: move aside, then in
            work.rename(target)
        else:
            os.replace(work, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        SCRATCH.discard(scratch)


def named(exc: OSError, target: Path) -> OSError:
    """The error names the output the user asked for, not the scratch file beside it (or nothing, as a
    full disk under pandas' writer does)."""
    scratch = os.path.normpath(target.parent / f".{target.name}.")  # mkdtemp's name may start with ./
    if exc.filename is None or os.path.normpath(exc.filename).startswith(scratch):
        exc.filename = str(target)
    return exc


STARTED_BY = dvc_ancestor()  # read at import, while the dvc that started the stage is surely there
PARENT = os.getppid()


def check_dvc_alive(target: Path) -> None:
    """Refuse to touch an output once the dvc process that started this stage is gone."""
    if STARTED_BY is None:
        return
    gone = not alive(STARTED_BY) or (STARTED_BY == PARENT and os.getppid() != PARENT)
    if gone:
        raise PipelineError(f"{target}: the dvc process that started this stage (pid {STARTED_BY}) has ended; "
                            "this run's results are discarded and the outputs left as they were")


def write_json(path: Path | str, payload: Any) -> None:
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=_plain) + "\n", encoding="utf-8")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_json(path: Path | str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such file (run the stage that writes it: dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_table(path: Path | str, frame: pd.DataFrame) -> None:
    with replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


def read_table(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such file (run the stage that writes it: dvc repro)")
    return pd.read_parquet(path)


def md5_file(path: Path | str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
