"""A sweep through DVC's real queue, interrupted or losing a worker: Ctrl+C stops its workers and queued
experiments in one line, and a worker killed with kill -9 has its experiment marked failed and requeued;
either way the next sweep runs. Digits, in a temporary git repository."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from mlkit.core.processes import alive
from mlkit.testing import Project, digits_project
from mlkit.testing.commands import ENV
from mlkit.tools.experiments import queue as ex


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """Digits with its baseline committed: experiments take the unchanged stages from the cache."""
    project = digits_project(tmp_path_factory.mktemp("queue-faults") / "project")
    project.dvc("repro")
    project.commit("digits: baseline run")
    yield project
    ex.stop_workers(project.path)


def start_sweep(project: Project, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mlkit", "sweep", *args], cwd=project.path, env=ENV,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, timeout: float = 180, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def running(project: Project) -> list[dict]:
    return [e for e in ex.queue_status(project.path) if e["status"] == "Running"]


def unfinished(project: Project) -> list[dict]:
    return [e for e in ex.queue_status(project.path) if e["status"] not in ex.DONE]


def test_ctrl_c_stops_the_sweep_its_workers_and_queue_and_the_next_sweep_runs(built: Project) -> None:
    sweep = start_sweep(built, "-S", "model.C=2,3,4,5", "-j", "1", "--name", "int")
    wait_for(lambda: running(built) or sweep.poll() is not None, what="a running experiment")
    os.kill(sweep.pid, signal.SIGINT)  # a terminal's Ctrl+C: the workers live in process groups of their own
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "1 running experiment(s) were killed" in errors[0] and "3 queued" in errors[0], stderr
    assert ex.live_workers(built.path) == [], "queue workers left running"
    assert unfinished(built) == [], "the queue still holds the sweep's experiments"
    after = built.tool("sweep", "-S", "model.C=6", "-j", "1", "--name", "after")
    assert after.returncode == 0, after.stderr


def test_a_killed_worker_fails_its_experiment_which_is_requeued(built: Project) -> None:
    sweep = start_sweep(built, "-S", "model.C=7", "-j", "1", "--name", "dead", "--timeout", "240")
    wait_for(lambda: running(built) or sweep.poll() is not None, what="a running experiment")
    workers = ex.live_workers(built.path)
    assert workers, "no queue worker to kill"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    _, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, stderr
    assert "requeued 1 experiment(s)" in stderr, stderr
    assert unfinished(built) == [], "an experiment still shows as running"
    assert "dead" in built.dvc("exp", "show", "--no-pager", "--csv").stdout  # the point's result is there
    lingering = [p.pid for p in psutil.process_iter() if alive(p.pid) and "exec-run" in " ".join(p.cmdline())
                 and str(built.path) in (p.cwd() if alive(p.pid) else "")]
    assert not lingering, f"experiment processes left running: {lingering}"


def test_a_point_lost_to_the_parallel_queue_race_is_requeued(built: Project, tmp_path) -> None:
    # treeverse/dvc#10673 cannot be timed on demand: train's command fails once with DVC's message for it
    flag = tmp_path / "failed-once"
    built.file("fail_once.py").write_text(
        "import pathlib, sys\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if not flag.exists():\n"
        "    flag.touch()\n"
        "    sys.exit(\"ERROR: unable to remove 'metrics/data_card.json' without a confirmation. Use `-f` to force.\")\n")
    dvc_yaml = built.file("dvc.yaml").read_text()
    built.file("dvc.yaml").write_text(dvc_yaml.replace("cmd: python -m stages.train",
                                                       "cmd: python fail_once.py && python -m stages.train"))
    built.commit("train fails once as in DVC's parallel-queue race")
    try:
        done = built.tool("sweep", "-S", "model.C=8", "-j", "1", "--name", "race")
        assert done.returncode == 0, done.stderr
        assert "requeued 1 experiment(s)" in done.stderr and flag.exists(), done.stderr
        assert unfinished(built) == []
    finally:
        built.git("reset", "-q", "--hard", "HEAD~1")
