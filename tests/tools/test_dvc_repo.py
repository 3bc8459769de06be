"""The DVC adapter (mlkit/tools/dvc_repo.py) on a real one-stage DVC project: what `dvc repro` ran and what it
restored from the run-cache, as Repo.reproduce tells it; the remote config it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlkit import testing
from mlkit.core.errors import PipelineError
from mlkit.tools import dvc_repo

PIPELINE = """\
stages:
  double:
    cmd: python -c "import sys; n = int(open('n.txt').read()); open('out.txt', 'w').write(str(2 * n)); print('noise')"
    deps: [n.txt]
    outs: [out.txt]
  fail:
    cmd: python -c "import sys; sys.exit(open('out.txt').read() == '14')"
    deps: [out.txt]
    outs: [never.txt]
"""


def git(root: Path, *args: str) -> str:
    return testing.git(*args, cwd=root).stdout


def dvc(root: Path, *args: str) -> str:
    return testing.dvc(*args, cwd=root).stdout


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    (root / "dvc.yaml").write_text(PIPELINE)
    (root / "n.txt").write_text("1")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    monkeypatch.chdir(root)
    return root


def test_reproduce_says_what_ran_and_what_the_run_cache_restored(project: Path,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PipelineError, match=r"^`dvc repro` failed: failed to reproduce 'fail'"):
        dvc_repo.reproduce()  # double ran, fail failed: 2 is not 14
    (project / "n.txt").write_text("2")
    assert dvc_repo.reproduce(["double"], single_item=True) == dvc_repo.Reproduced(ran=["double"], restored=[])
    assert (project / "out.txt").read_text() == "4"
    (project / "n.txt").write_text("1")  # a run DVC has seen: its outputs come from the run-cache
    assert dvc_repo.reproduce(["double"], single_item=True) == dvc_repo.Reproduced(ran=[], restored=["double"])
    assert (project / "out.txt").read_text() == "2"
    assert dvc_repo.reproduce(["double"], single_item=True) == dvc_repo.Reproduced()  # up to date
    assert dvc_repo.reproduce(["double"], force=True, single_item=True) == dvc_repo.Reproduced(ran=["double"])
    out, err = capfd.readouterr()
    assert "noise" not in out + err and "Running stage" not in out + err  # what `dvc repro` prints stays hidden


def test_remote_config_as_dvc_remote_writes_it(project: Path, tmp_path: Path) -> None:
    dvc_repo.add_remote("Store", str(tmp_path / "store"), default=True)
    dvc_repo.set_remote_option("store", "jobs", "8")
    dvc_repo.add_remote("mine", str(tmp_path / "mine"), local=True)
    assert sorted(dvc_repo.remote_names()) == ["mine", "store"]
    shown = dvc(project, "remote", "list").split()
    assert shown == ["store", str(tmp_path / "store"), "(default)", "mine", str(tmp_path / "mine")] or \
        shown == ["mine", str(tmp_path / "mine"), "store", str(tmp_path / "store"), "(default)"]
    assert dvc(project, "config", "remote.store.jobs").strip() == "8"
    assert "mine" not in (project / ".dvc" / "config").read_text()  # --local: config.local only
    with pytest.raises(PipelineError, match="remote 'nope' doesn't exist"):
        dvc_repo.set_remote_option("nope", "jobs", "8")
