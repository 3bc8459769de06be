"""The default remote, the folder ../dvc-storage: what the README says about it holds with this .dvc/config."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlkit.testing import ROOT, dvc, git


def test_first_push_creates_the_folder_and_only_clones_beside_it_can_pull(tmp_path: Path) -> None:
    repo = tmp_path / "here" / "repo"
    repo.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    assert dvc("init", "-q", cwd=repo, check=False).returncode == 0
    shutil.copyfile(ROOT / ".dvc" / "config", repo / ".dvc" / "config")  # the project's remote settings
    (repo / "data.txt").write_text("some output\n")
    assert dvc("add", "-q", "data.txt", cwd=repo, check=False).returncode == 0
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "data", cwd=repo)
    storage = tmp_path / "here" / "dvc-storage"
    assert not storage.exists()  # a fresh clone has none

    pushed = dvc("push", cwd=repo, check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert storage.is_dir()  # the first push creates ../dvc-storage

    beside = tmp_path / "here" / "colleague"
    git("clone", "-q", str(repo), str(beside), cwd=tmp_path)
    assert dvc("pull", cwd=beside, check=False).returncode == 0 and (beside / "data.txt").read_text() == "some output\n"

    elsewhere = tmp_path / "other" / "repo"
    elsewhere.parent.mkdir()
    git("clone", "-q", str(repo), str(elsewhere), cwd=tmp_path)
    pulled = dvc("pull", cwd=elsewhere, check=False)
    assert pulled.returncode != 0 and not (elsewhere / "data.txt").exists()
    assert "do not exist neither locally nor on remote" in pulled.stderr + pulled.stdout  # as the README quotes
