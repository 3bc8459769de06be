"""The one way this project reaches git: functions named by what they do, over scmrepo's `Git` (DVC's own
git library: revisions, status, refs, branches, commits, files at a revision).

Only what talks to a git remote runs the `git` program, here and nowhere else: clone, `push --follow-tags`
and checking that a remote answers. The program brings the user's credential helpers, ssh setup and URL
rewrites; scmrepo's pure-Python backends do not read them all, and its push has no `--follow-tags`.
DVC is reached through mlkit/tools/dvc_repo.py, processes through mlkit/core/processes.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scmrepo.exceptions import SCMError
from scmrepo.git import Git

from mlkit.core.errors import PipelineError

Root = Path | str


def env() -> dict[str, str]:
    """This interpreter's bin first on PATH: DVC spawns its queue workers as `dvc` from PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


@contextmanager
def repository(root: Root = ".") -> Iterator[Git]:
    """The git repository holding `root` (a folder in it will do), closed after use."""
    try:
        scm = Git(str(root))
    except SCMError as exc:
        raise PipelineError(f"{root}: not a git repository (DVC experiments and the registry need one): "
                            f"{exc}") from None
    try:
        yield scm
    finally:
        scm.close()


def _git_program(args: Sequence[str], root: Root) -> subprocess.CompletedProcess[str]:
    """The `git` program, for talking to remotes only (see the module's docstring)."""
    return subprocess.run(["git", *args], cwd=root, env=env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- revisions
def is_work_tree(path: Root = ".") -> bool:
    """`path` lies in a git work tree."""
    try:
        Git(str(path)).close()
    except SCMError:
        return False
    return True


def toplevel(path: Root = ".") -> Path:
    """The root of the git work tree holding `path`."""
    with repository(path) as scm:
        return Path(scm.root_dir)


def head(root: Root = ".") -> str:
    """HEAD's commit sha."""
    with repository(root) as scm:
        if scm.no_commits:
            raise PipelineError("no commit yet: DVC experiments and the registry need one; commit the project first")
        return scm.get_rev()


def resolve_rev(rev: str, what: str, root: Root = ".") -> str:
    """The commit a branch, tag or sha names; `what` says where the revision came from in the error."""
    with repository(root) as scm:
        try:
            return scm.resolve_rev(f"{rev}^{{commit}}")
        except SCMError:
            raise PipelineError(f"{what}: no git revision {rev!r} in this repository (a commit, tag or branch; "
                                f"fetch it first, e.g. `git fetch origin {rev.removeprefix('origin/')}` "
                                "or `git fetch --tags`)") from None


def current_branch(root: Root = ".") -> str | None:
    """The branch checked out; None when HEAD is detached."""
    with repository(root) as scm:
        try:
            return scm.active_branch()
        except SCMError:
            return None


def read_at(rev: str, path: str, root: Root = ".") -> str:
    """A file's text as commit `rev` holds it (`git show REV:PATH`)."""
    with repository(root) as scm:
        try:
            return scm.get_fs(scm.resolve_rev(rev)).read_text(path, encoding="utf-8")
        except (SCMError, OSError) as exc:
            raise PipelineError(f"{path}: not in git revision {rev} ({exc})") from None


# ---------------------------------------------------------------- the work tree
def posix(path: str) -> str:
    """A path as git names it from the root: `./a/b/` -> `a/b`, `.` -> ``."""
    text = Path(path).as_posix()
    return "" if text == "." else text.removeprefix("./").rstrip("/")


def _under(path: str, prefixes: Sequence[str]) -> bool:
    """`path` is one of `prefixes` or lies in one of them (a pathspec of files and folders)."""
    return any(not p or path == p or path.startswith(p + "/") for p in map(posix, prefixes))


def _status(root: Root, untracked_files: str) -> tuple[list[str], list[str]]:
    """(tracked files with changes, staged or not; untracked files not ignored), paths from the root."""
    with repository(root) as scm:
        staged, unstaged, new = scm.status(untracked_files=untracked_files)
    changed = sorted({*(p for paths in staged.values() for p in paths), *unstaged})
    return changed, sorted(new)


def changed_tracked(root: Root = ".") -> list[str]:
    """Tracked files with uncommitted changes (`git status --untracked-files=no`)."""
    return _status(root, "no")[0]


def uncommitted(paths: Sequence[str], root: Root = ".") -> list[str]:
    """Which files under `paths` (files or folders) hold changes git has not committed, new files included."""
    changed, new = _status(root, "all")
    return sorted(f for f in {*changed, *new} if _under(f, paths))


def untracked(paths: Sequence[str], root: Root = ".") -> list[str]:
    """The files under `paths` that git neither tracks nor ignores."""
    return [f for f in _status(root, "all")[1] if _under(f, paths)]


def tracked_files(root: Root = ".") -> list[str]:
    """Every file in git's index (`git ls-files`). scmrepo lists no index: dulwich's index, read directly."""
    with repository(root) as scm:
        index = scm.dulwich.repo.open_index()
        return sorted(os.fsdecode(path) for path in index.paths())


def stage(paths: Sequence[str], root: Root = ".") -> None:
    """`git -C ROOT add -- PATHS`."""
    with repository(root) as scm:
        scm.add([str(Path(root).resolve() / p) for p in paths])  # scmrepo reads them from the current folder


def commit_tracked(message: str, root: Root = ".") -> str | None:
    """`git commit -a`: every change to a tracked file, new files left out; the new commit's sha, or None
    when nothing changed."""
    with repository(root) as scm:
        staged, unstaged, _ = scm.status(untracked_files="no")
        if not (unstaged or any(staged.values())):
            return None
        scm.add([], update=True)
        scm.commit(message)
        return scm.get_rev()


def checkout_detached(rev: str, root: Root = ".") -> None:
    """Check out commit `rev` with HEAD detached (`git checkout --detach REV`)."""
    with repository(root) as scm:
        scm.checkout(scm.resolve_rev(rev), detach=True)


# ---------------------------------------------------------------- refs
def valid_ref_name(ref: str, root: Root = ".") -> bool:
    """`git check-ref-format REF`."""
    with repository(root) as scm:
        return bool(scm.check_ref_format(ref))


def ref_names(prefix: str, root: Root = ".") -> list[str]:
    """The refs under `prefix` (e.g. refs/exps/), full names."""
    with repository(root) as scm:
        return sorted(scm.iter_refs(base=prefix))


def remote_ref_names(remote: str, prefix: str, root: Root = ".") -> list[str]:
    """The refs under `prefix` that the git remote (a name or URL) holds; none when it cannot be read."""
    with repository(root) as scm:
        try:
            return sorted(scm.iter_remote_refs(remote, base=prefix))
        except (SCMError, OSError):
            return []


# ---------------------------------------------------------------- remotes: the git program
def clone(url: str, path: Path, cwd: Root = ".") -> None:
    """`git clone --no-checkout URL PATH`: the work tree is filled by checkout_detached."""
    done = _git_program(["clone", "-q", "--no-checkout", str(url), str(path)], cwd)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise PipelineError(f"git clone failed: {lines[0].strip() if lines else f'exit {done.returncode}'}")


def remote_error(remote: str, root: Root = ".") -> str | None:
    """Why the git remote cannot be reached (`git ls-remote --heads`); None when it answers."""
    done = _git_program(["ls-remote", "-q", "--heads", remote], root)
    return None if done.returncode == 0 else " ".join(done.stderr.split())[:300] or f"exit {done.returncode}"


def push_branch_with_tags(remote: str, branch: str, root: Root = ".") -> str | None:
    """`git push --follow-tags REMOTE BRANCH`; why it failed, or None. scmrepo's push has no --follow-tags."""
    done = _git_program(["push", "-q", "--follow-tags", remote, branch], root)
    return None if done.returncode == 0 else " ".join(done.stderr.split())[-300:] or f"exit {done.returncode}"


def project_root() -> Path:
    """The project a stage belongs to, also from a queued or `--temp` experiment.

    Those run in a copy under <project>/.dvc/tmp/exps/ that holds only the experiment's own commits and
    no tags; DVC names the project they came from in DVC_ROOT. The registry and champions live there.
    """
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()
