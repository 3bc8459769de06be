"""Interrupts and kills of a running pipeline, with real processes: Ctrl+C (SIGINT to the terminal's process
group) and SIGTERM end the stage with one line naming the command that restores its outputs (`dvc
checkout`), and kill -9 of `dvc repro` leaves no orphaned stage to race the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from mlkit.core.processes import alive
from mlkit.testing.commands import ENV, ROOT, dvc_command
from mlkit.testing.project import MULTICLASS, Project, digits_project, workspace

# A random forest of this many trees takes seconds on digits: long enough to be interrupted while it fits.
SLOW_MODEL = {"type": "random_forest", "n_estimators": 4000, "seed": 42, "class_weight": None}


def set_model(project: Project, **model: object) -> None:
    """params.yaml's model section replaced (set_params merges, and the svc's keys do not fit a forest)."""
    params = project.params()
    params["model"] = model
    project.file("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The digits project, its pipeline run up to train with a small forest and committed."""
    project = digits_project(tmp_path_factory.mktemp("faults") / "p")
    set_model(project, **{**SLOW_MODEL, "n_estimators": 20})
    project.dvc("repro", "-q", "train")
    project.commit("trained")
    return project


@pytest.fixture
def slow(trained: Project) -> Iterator[Project]:
    """The project with a slow model set (train reruns); params.yaml and the model back afterwards."""
    set_model(trained, **SLOW_MODEL)
    yield trained
    trained.git("checkout", "params.yaml", "dvc.lock")
    trained.dvc("checkout", "-q", "train", check=False)


def start_repro(project: Project) -> subprocess.Popen:
    """`dvc repro train` in its own session, as a terminal runs a command in its own process group."""
    return subprocess.Popen(dvc_command("repro", "train"), cwd=project.path, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def train_process(repro: subprocess.Popen, project: Project, timeout: float = 180) -> psutil.Process:
    """The train stage under `repro`, once it is fitting: past its imports, in its scratch output folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and repro.poll() is None:
        trains = [child for child in psutil.Process(repro.pid).children(recursive=True)
                  if "stages.train" in " ".join(_cmdline(child))]
        if trains and list(project.file("models").glob(".model.*")):
            return trains[0]
        time.sleep(0.2)
    repro.kill()
    raise AssertionError(f"train never started fitting: {repro.communicate()}")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def model_files(project: Project) -> dict[str, bytes]:
    folder = project.file("models/model")
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(("signum", "said"), [(signal.SIGINT, "interrupted (Ctrl+C)"),
                                              (signal.SIGTERM, "terminated (SIGTERM)")])
def test_an_interrupted_stage_says_in_one_line_how_its_outputs_come_back(slow: Project, signum: int,
                                                                          said: str) -> None:
    before = model_files(slow)
    repro = start_repro(slow)
    train = train_process(repro, slow)
    os.killpg(repro.pid, signum)  # what Ctrl+C in a terminal (or a scheduler's TERM) does: the whole group
    _, stderr = repro.communicate(timeout=60)
    assert repro.returncode != 0
    assert not alive(train.pid)
    assert "Traceback" not in stderr, stderr
    lines = errors(stderr)
    assert len(lines) == 1 and said in lines[0] and "`dvc checkout` restores them" in lines[0], stderr
    slow.git("checkout", "params.yaml")
    slow.dvc("checkout", "train")  # the fixture ran the pipeline up to train only
    assert model_files(slow) == before  # the named command brings the last good model back


def test_a_stage_whose_dvc_is_killed_stops_and_the_rerun_works(slow: Project) -> None:
    repro = start_repro(slow)
    train = train_process(repro, slow)
    os.kill(repro.pid, signal.SIGKILL)  # dvc alone: its stage is orphaned (and holds dvc's output pipes)
    deadline = time.monotonic() + 8  # stops itself: between two trees, well before its fit would end
    while alive(train.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(train.pid):
        train.kill()
        raise AssertionError("the orphaned train stage ran on after its dvc was killed")
    repro.communicate(timeout=30)
    assert not list(slow.file("models").glob(".model.*")), "scratch folders left behind"
    set_model(slow, **{**SLOW_MODEL, "n_estimators": 30})  # the rerun trains (quickly) and succeeds
    done = slow.dvc("repro", "train", check=False)
    assert done.returncode == 0, done.stderr
    assert slow.dvc("status", "train").stdout.strip().endswith("up to date."), "rerun left the stage dirty"


@pytest.mark.fast
def test_ctrl_c_while_a_stage_starts_is_one_line(tmp_path: Path) -> None:
    folder = workspace(tmp_path, MULTICLASS)
    started = subprocess.Popen([sys.executable, "-m", "stages.fetch"], cwd=folder, text=True,
                               env={**ENV, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Once stages/__init__.py has its handlers (SIGTERM caught), the stage goes on importing pandas, pyarrow
    # and scikit-learn for a second or more before its main runs: Ctrl+C lands there.
    deadline = time.monotonic() + 60
    while not catches(started.pid, signal.SIGTERM) and started.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    started.send_signal(signal.SIGINT)
    _, stderr = started.communicate(timeout=60)
    assert started.returncode == 130, stderr
    assert "Traceback" not in stderr and errors(stderr) == ["error: interrupted (Ctrl+C)"], stderr


def catches(pid: int, signum: int) -> bool:
    """The process has a handler for `signum` (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(mask, 16) >> (signum - 1) & 1)
