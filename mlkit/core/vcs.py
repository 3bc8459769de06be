"""The one way this project calls git and DVC: subprocesses with one error style, and the project's root.

Tools run DVC as a subprocess (`python -m dvc`) where they need its command-line behaviour (queueing,
`metrics diff --md`); the Python API (`dvc.repo.Repo`, `dvc.api`) where it offers what they read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mlkit.core.errors import PipelineError


def env() -> dict[str, str]:
    """This interpreter's bin first on PATH: DVC spawns its queue workers as `dvc` from PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def run(args: Sequence[str], root: Path | str = ".", check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in `root`; with `check`, a failure is one PipelineError quoting its last line."""
    done = subprocess.run(list(args), cwd=root, env=env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        shown = " ".join(a if a != sys.executable else "python" for a in args)
        raise PipelineError(f"`{shown}` failed: {lines[-1].strip() if lines else f'exit {done.returncode}'}")
    return done


def dvc(*args: str, root: Path | str = ".", check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "dvc", *args], root, check)


def git(*args: str, root: Path | str = ".") -> str:
    return run(["git", *args], root).stdout.strip()


def head(root: Path | str = ".") -> str:
    """HEAD's commit sha."""
    done = run(["git", "rev-parse", "--verify", "-q", "HEAD"], root, check=False)
    if done.returncode != 0:
        raise PipelineError("no commit yet: DVC experiments and the registry need one; commit the project first")
    return done.stdout.strip()


def resolve_rev(rev: str, what: str, root: Path | str = ".") -> str:
    """The commit a branch, tag or sha names; `what` says where the revision came from in the error."""
    done = run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise PipelineError(f"{what}: no git revision {rev!r} in this repository (a commit, tag or branch; "
                            f"fetch it first, e.g. `git fetch origin {rev.removeprefix('origin/')}` "
                            "or `git fetch --tags`)")
    return done.stdout.strip()


def uncommitted(paths: Sequence[str], root: Path | str = ".") -> list[str]:
    """Which of `paths` (files or folders) hold changes git has not committed, new files included."""
    done = run(["git", "status", "--porcelain", "--untracked-files=all", "--", *paths], root, check=False)
    if done.returncode != 0:
        raise PipelineError(f"{root}: not a git repository (DVC experiments need one): {done.stderr.strip()}")
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def untracked(paths: Sequence[str], root: Path | str = ".") -> list[str]:
    """The files under `paths` that git neither tracks nor ignores."""
    return git("ls-files", "--others", "--exclude-standard", "--", *paths, root=root).splitlines()


def project_root() -> Path:
    """The project a stage belongs to, also from a queued or `--temp` experiment.

    Those run in a copy under <project>/.dvc/tmp/exps/ that holds only the experiment's own commits and
    no tags; DVC names the project they came from in DVC_ROOT. The registry and champions live there.
    """
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()
