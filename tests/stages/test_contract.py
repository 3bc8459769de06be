"""The DVC contract end to end: the run-cache restores what was run, a rerun writes the same bytes, and a
stage whose dvc process died touches no output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mlkit.core.processes import alive
from mlkit.testing import ENV, ROOT, Project, copy_project, git
from mlkit.testing.commands import dvc_command


def default_project(dest: Path, limit: int) -> Project:
    """The default params (embedded tweets, TF-IDF + LinearSVC) on `limit` rows, committed."""
    project = copy_project(dest)
    project.set_params(data={"limit": limit})
    project.commit("default, smaller")
    return project


def md5_of(project: Project, stage: str) -> dict[str, str]:
    import yaml

    lock = yaml.safe_load(project.file("dvc.lock").read_text())["stages"][stage]
    return {out["path"]: out["md5"] for out in lock["outs"]}


def stages_but_validate(lock: str) -> dict[str, object]:
    import yaml

    stages = yaml.safe_load(lock)["stages"]
    stages.pop("validate")
    return stages


@pytest.mark.fast
def test_the_committed_dvc_lock_is_the_committed_codes(tmp_path: Path) -> None:
    """A colleague's clone: every dependency in dvc.lock that git holds (code, params, sources) matches it, so
    a change to mlkit/ committed without `dvc repro` and its dvc.lock (which a clone would rerun) fails here.
    In the clone only the pipeline's own outputs are missing ("deleted", "not in cache")."""
    clone = tmp_path / "clone"
    git("clone", "-q", str(ROOT), str(clone), cwd=tmp_path)
    status = json.loads(Project(clone).dvc("status", "--json").stdout)
    # An entry is {"changed deps": {path: why}}, {"changed outs": ...}, or a plain "changed command" string.
    stale = {stage: entry for stage, entries in status.items() for entry in entries
             if isinstance(entry, str) or any(why != "deleted" for why in entry.get("changed deps", {}).values())}
    assert stale == {}, f"commit dvc.lock after `dvc repro`: {stale}"


def test_going_back_to_a_parameter_restores_from_the_run_cache(tmp_path: Path) -> None:
    project = default_project(tmp_path / "p", 1500)
    project.dvc("repro")
    first = md5_of(project, "train")
    default_c = project.params()["model"]["C"]
    project.set_params(model={"C": default_c * 4})
    project.dvc("repro")
    assert md5_of(project, "train") != first
    project.set_params(model={"C": default_c})
    back = project.dvc("repro")
    assert "Stage 'train' is cached - skipping run, checking out outputs" in back.stdout, back.stdout
    assert "Running stage 'train'" not in back.stdout
    assert md5_of(project, "train") == first


def test_a_forced_rerun_writes_the_same_bytes(tmp_path: Path) -> None:
    """`dvc repro -f` on a committed run leaves dvc.lock and every output as they were: nothing in an
    output depends on the time, the process or the run (timings go to the log)."""
    project = default_project(tmp_path / "p", 1500)
    project.dvc("repro")
    project.commit("ran")
    again = project.dvc("repro", "-f")
    assert "train: timings {" in again.stdout
    assert project.git("status", "--porcelain").stdout == ""
    assert project.dvc("status").stdout.strip() == "Data and pipelines are up to date."


def stage_processes(project: Path, module: str) -> list[int]:
    """Processes running `python -m MODULE` in `project` (/proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if module.encode() in args and Path(cwd) == project:
            found.append(int(entry.name))
    return found


def test_a_stage_whose_dvc_was_killed_leaves_outputs_and_lock_consistent(tmp_path: Path) -> None:
    project = default_project(tmp_path / "p", 3000)
    project.dvc("repro")
    project.commit("ran")
    lock = project.file("dvc.lock").read_text()
    model = project.file("models/model/model.skops").read_bytes()
    project.set_params(model={"C": 1.0})
    dvc = subprocess.Popen(dvc_command("repro"), cwd=project.path, env=ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(project.path.glob("models/.model.*")):  # train's scratch folder: it is fitting now
        assert dvc.poll() is None and time.monotonic() < deadline, "train never started"
        time.sleep(0.02)
    orphans = stage_processes(project.path, "stages.train")
    assert orphans
    os.kill(dvc.pid, signal.SIGKILL)  # dvc alone: the stage runs on, orphaned
    dvc.wait()
    while any(alive(pid) for pid in orphans):
        assert time.monotonic() < deadline, "the orphaned stage did not end"
        time.sleep(0.1)
    # validate finished before train started, so only its entry records the new params
    assert stages_but_validate(project.file("dvc.lock").read_text()) == stages_but_validate(lock)
    assert not project.file("models/model").exists()  # DVC removed it for the run; no new model came in
    assert not list(project.path.glob("models/.model.*")) and not list(project.path.glob("metrics/.train.*"))
    project.git("checkout", "params.yaml", "dvc.lock")
    project.dvc("checkout")
    assert project.file("models/model/model.skops").read_bytes() == model
    assert project.dvc("status").stdout.strip() == "Data and pipelines are up to date."
