"""The git adapter (mlkit/core/vcs.py) and the process one (mlkit/core/processes.py), on real temporary git
repositories and real processes: each function does what the git command it stands for does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlkit import testing
from mlkit.core import processes, vcs
from mlkit.core.errors import PipelineError
from mlkit.testing.commands import dvc_command

pytestmark = pytest.mark.fast

IDENTITY = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(root: Path, *args: str) -> str:
    return testing.git(*args, cwd=root).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one commit: a.txt, stages/s.py and an ignored data/ folder; on branch main."""
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("one\n")
    (root / "stages").mkdir()
    (root / "stages" / "s.py").write_text("x = 1\n")
    (root / ".gitignore").write_text("/data\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_head_is_the_commit_and_an_empty_repository_has_none(repo: Path, tmp_path: Path) -> None:
    assert vcs.head(repo) == git(repo, "rev-parse", "HEAD")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(PipelineError, match="no commit yet"):
        vcs.head(empty)
    with pytest.raises(PipelineError, match="not a git repository"):
        vcs.head(tmp_path)


def test_resolve_rev_peels_tags_and_names_what_asked_for_an_unknown_one(repo: Path) -> None:
    first = vcs.head(repo)
    git(repo, "tag", "-a", "v1", "-m", "release")  # an annotated tag: its own object, peeled to the commit
    (repo / "a.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "second")
    second = vcs.head(repo)
    assert vcs.resolve_rev("v1", "--base", repo) == first
    assert vcs.resolve_rev("main", "--base", repo) == second
    assert vcs.resolve_rev(first[:7], "--base", repo) == first
    assert vcs.resolve_rev("HEAD~1", "--base", repo) == first
    with pytest.raises(PipelineError, match=r"^--base: no git revision 'nope'"):
        vcs.resolve_rev("nope", "--base", repo)


def test_status_functions_tell_tracked_changes_new_files_and_ignored_ones_apart(repo: Path) -> None:
    (repo / "stages" / "s.py").write_text("x = 2\n")  # tracked, changed
    (repo / "stages" / "new.py").write_text("")  # new
    (repo / "notes.txt").write_text("")  # new, outside the paths asked about
    (repo / "data").mkdir()
    (repo / "data" / "big.csv").write_text("")  # ignored
    assert vcs.uncommitted(["stages", "params.yaml"], repo) == ["stages/new.py", "stages/s.py"]
    assert vcs.uncommitted(["./stages/"], repo) == ["stages/new.py", "stages/s.py"]
    assert vcs.uncommitted(["."], repo) == ["notes.txt", "stages/new.py", "stages/s.py"]
    assert vcs.untracked(["stages", "data"], repo) == ["stages/new.py"]
    assert vcs.changed_tracked(repo) == ["stages/s.py"]
    git(repo, "add", "stages/new.py")  # staged: tracked now
    assert vcs.changed_tracked(repo) == ["stages/new.py", "stages/s.py"]
    assert vcs.tracked_files(repo) == [".gitignore", "a.txt", "stages/new.py", "stages/s.py"]


def test_commit_tracked_is_commit_all_and_nothing_when_nothing_changed(repo: Path) -> None:
    before = vcs.head(repo)
    assert vcs.commit_tracked("nothing", repo) is None and vcs.head(repo) == before
    (repo / "a.txt").write_text("changed\n")
    (repo / "stages" / "s.py").unlink()
    (repo / "new.txt").write_text("left out\n")
    sha = vcs.commit_tracked("retrain: x", repo)
    assert sha == git(repo, "rev-parse", "HEAD") != before
    assert git(repo, "log", "-1", "--format=%s %an") == "retrain: x test"
    assert git(repo, "show", "--name-status", "--format=", "HEAD").split() == ["M", "a.txt", "D", "stages/s.py"]
    assert git(repo, "status", "--porcelain") == "?? new.txt"


def test_stage_adds_the_files_named(repo: Path) -> None:
    (repo / "x.dvc").write_text("outs: []\n")
    (repo / "y.txt").write_text("")
    vcs.stage(["x.dvc"], repo)
    assert git(repo, "status", "--porcelain").splitlines() == ["A  x.dvc", "?? y.txt"]


def test_branch_detached_head_and_reading_a_file_at_a_revision(repo: Path) -> None:
    first = vcs.head(repo)
    assert vcs.current_branch(repo) == "main"
    (repo / "a.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "second")
    assert vcs.read_at("HEAD~1", "a.txt", repo) == "one\n" and vcs.read_at("HEAD", "a.txt", repo) == "two\n"
    with pytest.raises(PipelineError, match="params.yaml: not in git revision HEAD"):
        vcs.read_at("HEAD", "params.yaml", repo)
    vcs.checkout_detached(first, repo)
    assert vcs.current_branch(repo) is None and (repo / "a.txt").read_text() == "one\n"
    assert vcs.toplevel(repo / "stages") == repo


def test_refs_local_and_remote_and_ref_name_rules(repo: Path, tmp_path: Path) -> None:
    sha = vcs.head(repo)
    git(repo, "update-ref", f"refs/exps/{sha[:2]}/{sha[2:]}/trial-1", sha)
    git(repo, "update-ref", "refs/heads/other", sha)
    assert vcs.ref_names("refs/exps/", repo) == [f"refs/exps/{sha[:2]}/{sha[2:]}/trial-1"]
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    assert vcs.remote_ref_names(str(repo), "refs/exps/", other) == [f"refs/exps/{sha[:2]}/{sha[2:]}/trial-1"]
    assert vcs.remote_ref_names(str(tmp_path / "gone"), "refs/exps/", other) == []
    assert vcs.valid_ref_name("refs/exps/x/trial-1", repo)
    assert not vcs.valid_ref_name("refs/exps/x/two words", repo)
    assert not vcs.valid_ref_name("refs/exps/x/a..b", repo)


def test_clone_push_with_tags_and_an_unreachable_remote(repo: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    assert vcs.remote_error("origin", repo) is None
    git(repo, "tag", "-a", "model@v1", "-m", "registered")
    assert vcs.push_branch_with_tags("origin", "main", repo) is None
    assert git(origin, "rev-parse", "main", "model@v1^{commit}").split() == [vcs.head(repo)] * 2
    copy = tmp_path / "copy"
    vcs.clone(str(origin), copy, tmp_path)
    assert not (copy / "a.txt").exists()  # no checkout until one is asked for
    vcs.checkout_detached("origin/HEAD", copy)
    assert (copy / "a.txt").read_text() == "one\n"
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    assert "gone.git" in (vcs.remote_error("origin", repo) or "")
    assert vcs.push_branch_with_tags("origin", "main", repo)
    with pytest.raises(PipelineError, match="^git clone failed: "):
        vcs.clone(str(tmp_path / "gone.git"), tmp_path / "copy2", tmp_path)


def test_processes_alive_ended_and_what_they_run(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(0.2); sys.exit(0)", "queue-worker"])
    assert processes.alive(child.pid) and processes.runs(child.pid, "queue-worker")
    assert processes.parent(child.pid) == os.getpid() and not processes.is_dvc(child.pid)
    deadline = time.monotonic() + 10
    while processes.alive(child.pid) and time.monotonic() < deadline:  # exited, not reaped yet: a zombie
        time.sleep(0.05)
    assert not processes.alive(child.pid) and child.poll() == 0
    assert not processes.alive(child.pid) and not processes.runs(child.pid, "queue-worker")
    dvc = subprocess.Popen(dvc_command("--version"), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while processes.command_line(dvc.pid)[1:2] != ["-m"] and time.monotonic() < deadline:  # exec'd yet?
            time.sleep(0.01)
        assert processes.is_dvc(dvc.pid) and not processes.is_dvc(os.getpid())
    finally:
        dvc.wait()
