"""Commands run for tests and benchmarks: git and dvc in a folder, with this interpreter's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mlkit.core.devices import share_cpus

# The source checkout this package lies in: tests and benchmarks copy it and run its stages.
ROOT = Path(__file__).resolve().parents[2]
# The stages run as `python -m ...` under DVC: make that the interpreter running the tests. Commits made here
# must not depend on the machine's git identity.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
       "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
       "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}
# Under `pytest -n N`, N tests run at once: each one's processes share CPUs // N threads, as a sweep's
# experiments do (mlkit/core/devices.py, share_cpus); oversubscribed torch runs take several times longer.
share_cpus(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), ENV)


def run(*args: str, cwd: Path | str, check: bool = True, env: Mapping[str, str] | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `args` in `cwd` with ENV (plus `env`), capturing text output; `check`: a non-zero exit raises an
    AssertionError that quotes the command and its output, so a failed test shows why."""
    result = subprocess.run(args, cwd=cwd, env={**ENV, **(env or {})}, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}) in {cwd}:\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


def git(*args: str, cwd: Path | str, check: bool = True, env: Mapping[str, str] | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """`git ARGS` in `cwd` (see run)."""
    return run("git", *args, cwd=cwd, check=check, env=env, timeout=timeout)


def dvc(*args: str, cwd: Path | str, check: bool = True, env: Mapping[str, str] | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """`dvc ARGS` in `cwd`, from this interpreter's environment (`python -m dvc`; see run)."""
    return run(sys.executable, "-m", "dvc", *args, cwd=cwd, check=check, env=env, timeout=timeout)


def dvc_command(*args: str) -> list[str]:
    """The command line of `dvc ARGS` from this interpreter's environment, for a process started in the
    background (subprocess.Popen) rather than waited for."""
    return [sys.executable, "-m", "dvc", *args]
