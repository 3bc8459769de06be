"""The default remote, the folder ../dvc-storage: what the README says about it holds with this .dvc/config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ENV, ROOT


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)


def dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run(cwd, sys.executable, "-m", "dvc", *args)


def test_first_push_creates_the_folder_and_only_clones_beside_it_can_pull(tmp_path: Path) -> None:
    repo = tmp_path / "here" / "repo"
    repo.mkdir(parents=True)
    run(repo, "git", "init", "-q")
    assert dvc(repo, "init", "-q").returncode == 0
    shutil.copyfile(ROOT / ".dvc" / "config", repo / ".dvc" / "config")  # the project's remote settings
    (repo / "data.txt").write_text("some output\n")
    assert dvc(repo, "add", "-q", "data.txt").returncode == 0
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "data")
    storage = tmp_path / "here" / "dvc-storage"
    assert not storage.exists()  # a fresh clone has none

    pushed = dvc(repo, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert storage.is_dir()  # the first push creates ../dvc-storage

    beside = tmp_path / "here" / "colleague"
    run(tmp_path, "git", "clone", "-q", str(repo), str(beside))
    assert dvc(beside, "pull").returncode == 0 and (beside / "data.txt").read_text() == "some output\n"

    elsewhere = tmp_path / "other" / "repo"
    elsewhere.parent.mkdir()
    run(tmp_path, "git", "clone", "-q", str(repo), str(elsewhere))
    pulled = dvc(elsewhere, "pull")
    assert pulled.returncode != 0 and not (elsewhere / "data.txt").exists()
    assert "do not exist neither locally nor on remote" in pulled.stderr + pulled.stdout  # as the README quotes
