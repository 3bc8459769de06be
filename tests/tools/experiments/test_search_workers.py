"""mlkit search's workers on "other machines": each in a folder of its own, sharing only three URLs with the project.

A bare git repository (the git remote), `rclone serve s3` (the DVC remote, mlkit/testing/s3server.py) and PostgreSQL on a
Unix socket (the study, mlkit/testing/pgserver.py), all started here and stopped afterwards. Workers run from empty folders:
nothing of the project reaches them except through those URLs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from mlkit.testing import ENV, Project, commands, digits_project, trial_accuracies
from mlkit.testing.pgserver import PgServer
from mlkit.testing.s3server import KEY, SECRET, S3Server
from mlkit.tools.experiments.queue import stop_workers

SPACE = ["--space", "model.C=log:0.5:20", "--space", "model.gamma=log:0.0002:0.005"]
CREDS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
WORKER_ENV = {**ENV, **CREDS}
REMOTE = "store"
COMPLETE, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL
TIMEOUT = 1800  # a whole worker run: trials take minutes on a 2-core machine busy with other jobs


class Setup:
    def __init__(self, project: Project, git_remote: Path, s3: S3Server, pg: PgServer, tmp: Path):
        self.project, self.git_remote, self.s3, self.pg, self.tmp = project, git_remote, s3, pg, tmp
        self.started: list[subprocess.Popen] = []

    def command(self, study: str, trials: int, storage: str | None = None, dvc_remote: str = REMOTE) -> list[str]:
        return [sys.executable, "-m", "mlkit", "search", "--study", study, "--trials", str(trials),
                "--metric", "valid.accuracy", "--heartbeat", "2", *SPACE,
                "--git-remote", str(self.git_remote), "--dvc-remote", dvc_remote, "--storage", storage or self.pg.url]

    def worker(self, name: str, study: str, trials: int, storage: str | None = None,
               *extra: str, dvc_remote: str = REMOTE) -> tuple[subprocess.Popen, Path]:
        """A worker started in an empty folder of its own; its clone goes under that folder."""
        home = self.tmp / name
        home.mkdir()
        process = subprocess.Popen([*self.command(study, trials, storage, dvc_remote), "--workdir",
                                    str(home / "work"), *extra],
                                   cwd=home, env=WORKER_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        self.started.append(process)
        return process, home

    def stop_workers(self) -> None:
        """A failed test's workers: SIGTERM, which stops their trials and removes their clones."""
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                process.communicate(timeout=120)

    def viewer(self, name: str) -> Path:
        """Anyone on the team: a fresh clone of the git remote, the DVC remote's keys in the environment."""
        git(self.tmp, "clone", "-q", str(self.git_remote), name)
        return self.tmp / name


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """git with the DVC remote's keys in the environment, as the workers have them (WORKER_ENV)."""
    return commands.git(*args, cwd=cwd, env=CREDS, check=check, timeout=300)


def dvc(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return commands.dvc(*args, cwd=cwd, env=CREDS, check=check, timeout=300)


def shown(root: Path, study: str) -> dict[str, float]:
    """Experiment name -> valid.accuracy, as `dvc exp show --json -A` lists them in `root`."""
    return trial_accuracies(dvc(root, "exp", "show", "--json", "-A").stdout, study)


def trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=url).trials


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    """The digits project (seconds per run), reproduced, its outputs pushed to S3, its git pushed to a bare repo."""
    tmp = tmp_path_factory.mktemp("workers")
    with S3Server(tmp / "s3") as s3, PgServer() as pg:
        s3.bucket("dvc")
        project = digits_project(tmp / "project")
        project.run(sys.executable, "-m", "mlkit", "remote", "add", REMOTE, "s3://dvc/store", "--endpoint",
                    s3.endpoint, "--default")
        project.dvc("repro")
        project.commit("digits: dvc.lock, the S3 remote")
        git(tmp, "init", "-q", "--bare", "-b", "main", "origin.git")
        project.git("remote", "add", "origin", str(tmp / "origin.git"))
        project.git("push", "-q", "origin", "main")
        dvc(project.path, "push")
        # A second DVC remote that the project's config does not name (local config only): a worker is
        # given its URL, not a name.
        dvc(project.path, "remote", "add", "--local", "folder", str(tmp / "folder-store"))
        dvc(project.path, "push", "-r", "folder")
        setup = Setup(project, tmp / "origin.git", s3, pg, tmp)
        try:
            yield setup
        finally:
            setup.stop_workers()


def test_two_workers_share_only_three_urls(setup: Setup) -> None:
    # Two trials at once each: one batch per worker, as few DVC start-ups as the test allows.
    workers = [setup.worker(f"two-{i}", "two", 4, None, "--parallel", "2") for i in range(2)]
    outputs = [process.communicate(timeout=TIMEOUT) for process, _ in workers]
    assert [process.returncode for process, _ in workers] == [0, 0], outputs
    assert all(not list((home / "work").iterdir()) for _, home in workers)  # each worker's clone is gone

    study = trials(setup.pg.url, "two")
    assert sorted(t.number for t in study) == [0, 1, 2, 3]  # exactly the budget
    assert all(t.state == COMPLETE for t in study)
    assert len({t.user_attrs["worker"] for t in study}) == 2  # both ran trials
    assert len({tuple(sorted(t.params.items())) for t in study}) == 4  # no two alike

    viewer = setup.viewer("viewer-two")
    names = sorted(t.user_attrs["experiment"] for t in study)
    dvc(viewer, "exp", "pull", str(setup.git_remote), *names)
    assert shown(viewer, "two") == {t.user_attrs["experiment"]: t.value for t in study}  # metrics came back

    best = max(study, key=lambda t: t.value)
    name = best.user_attrs["experiment"]
    printed = f"experiment: {name}   (dvc exp pull {setup.git_remote} {name} && dvc exp apply {name})"
    assert any(printed in out for out, _ in outputs)
    dvc(viewer, "exp", "apply", name)  # its outputs are on the DVC remote: apply checks them out
    assert "in sync" in dvc(viewer, "status", "-c").stdout


def test_a_killed_workers_trial_fails_by_heartbeat_and_is_retried(setup: Setup) -> None:
    doomed, doomed_home = setup.worker("kill-0", "kill", 2)
    try:
        for line in doomed.stdout:  # its first trial is queued: kill it mid-trial, as a lost node would be
            if line.startswith("trial 0: kill-t000"):
                break
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        survivor, _ = setup.worker("kill-1", "kill", 2, None, "--parallel", "2")
        out, err = survivor.communicate(timeout=TIMEOUT)
    finally:
        for clone in (doomed_home / "work").glob("*"):  # the dead worker's DVC queue workers live on: end them
            stop_workers(clone)
    assert survivor.returncode == 0, (out, err)

    study = trials(setup.pg.url, "kill")
    dead = study[0]
    assert dead.state == FAIL and dead.user_attrs["fail_reason"] == "heartbeat"
    assert "trial 0 FAILED: kill-t000: its worker" in out
    ran = [t for t in study if t.number != 0]
    assert len(ran) == 2 and all(t.state == COMPLETE for t in ran)  # the slot was reused: 2 trials ran
    retried = [t for t in ran if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1 and retried[0].params == dead.params  # with the same params

    viewer = setup.viewer("viewer-kill")
    names = [t.user_attrs["experiment"] for t in ran]
    dvc(viewer, "exp", "pull", str(setup.git_remote), *names)
    assert sorted(shown(viewer, "kill")) == sorted(names)  # the dead worker's experiment was never pushed
    for name in names:
        dvc(viewer, "exp", "apply", name)
        assert "in sync" in dvc(viewer, "status", "-c").stdout, name
        git(viewer, "checkout", "--", ".")


def test_the_database_going_away_is_one_error_and_loses_no_experiment(setup: Setup) -> None:
    """Also the DVC remote given as a URL (a folder here), which the worker adds to its clone's config."""
    folder = str(setup.tmp / "folder-store")
    with PgServer() as pg:
        worker, home = setup.worker("gone", "gone", 3, pg.url, dvc_remote=folder)
        for line in worker.stdout:  # the first trial was pushed and told: then the database goes away
            if line.startswith("trial 0: gone-t000 valid.accuracy = "):
                break
        pg.stop(mode="immediate")
        out, err = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 1
    assert err.strip().splitlines()[-1].startswith(f"error: --storage {pg.url}: the study's database went away (")
    assert "Traceback" not in err
    refs = git(setup.tmp, "ls-remote", str(setup.git_remote), "refs/exps/*").stdout
    assert "gone-t000" in refs
    viewer = setup.viewer("viewer-gone")
    dvc(viewer, "remote", "add", "--local", "--default", "folder", folder)
    dvc(viewer, "exp", "pull", str(setup.git_remote), "gone-t000")
    dvc(viewer, "exp", "apply", "gone-t000")
    assert "in sync" in dvc(viewer, "status", "-c").stdout  # the trial's outputs are on the folder remote
    assert not list((home / "work").iterdir())  # the clone is removed


def test_worker_options_are_checked(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mlkit", "search", "--study", "s", "--trials", "1", *SPACE,
                           "--git-remote", "/nowhere.git", "--dvc-remote", "store"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --storage sqlite:///optuna.db: workers on several machines need a database server they all reach, "
        "e.g. postgresql+psycopg://USER@HOST/DB"]
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- the launch templates
TEMPLATES = Path(__file__).resolve().parents[3] / "deploy"
URLS = {"MLKIT_GIT_REMOTE": "https://token-1@git.test/team/mlkit.git", "MLKIT_DVC_REMOTE": "s3://bucket-2/store",
        "MLKIT_STORAGE": "postgresql+psycopg://u:secret-3@db.test/optuna"}


def worker_args(argv: list[str]) -> dict[str, str]:
    """The worker command's options, parsed by mlkit's own command line and checked by SearchOptions."""
    import typer

    from mlkit import cli
    from mlkit.tools.experiments.search_options import SearchOptions

    assert argv[0] == "search"
    command = typer.main.get_command(cli.app)
    with command.make_context("mlkit", list(argv)) as ctx:
        name, search, rest = command.resolve_command(ctx, list(argv))
        assert name == "search" and search is not None
        with search.make_context(name, rest, parent=ctx) as parsed:
            options = SearchOptions(**{k: v for k, v in parsed.params.items()})
    return {"git": options.git_remote, "dvc": options.dvc_remote, "storage": options.storage,
            "workdir": options.workdir}


@pytest.mark.fast
def test_the_slurm_array_runs_the_worker_command_with_urls_from_the_environment(tmp_path: Path) -> None:
    script = TEMPLATES / "slurm" / "search-worker.sbatch"
    stub = tmp_path / "bin" / "mlkit"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "argv"}\n')
    stub.chmod(0o755)
    env = {**URLS, "PATH": f"{stub.parent}:{os.environ['PATH']}", "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "2",
           "TMPDIR": str(tmp_path)}
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    argv = (tmp_path / "argv").read_text().splitlines()
    assert worker_args(argv) == {"git": URLS["MLKIT_GIT_REMOTE"], "dvc": URLS["MLKIT_DVC_REMOTE"],
                                 "storage": URLS["MLKIT_STORAGE"], "workdir": f"{tmp_path}/mlkit-search-7-2"}
    assert "#SBATCH --array=" in script.read_text()

    (tmp_path / "argv").unlink()
    missing = subprocess.run(["bash", str(script)], env={**env, "MLKIT_STORAGE": ""}, capture_output=True, text=True)
    assert missing.returncode != 0 and "MLKIT_STORAGE" in missing.stderr  # stops before any worker starts
    assert not (tmp_path / "argv").exists()
    code = [ln for ln in script.read_text().splitlines() if not ln.lstrip().startswith("#")]
    assert not [ln for ln in code if "://" in ln or re.search(r"(KEY|SECRET|PASSWORD)\w*=", ln)]


@pytest.mark.fast
def test_the_k8s_job_runs_the_worker_command_with_urls_from_a_secret() -> None:
    job = yaml.safe_load((TEMPLATES / "k8s" / "search-worker.yaml").read_text())
    assert job["kind"] == "Job" and job["spec"]["parallelism"] >= 2
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = container["env"]
    assert all(set(var) == {"name", "valueFrom"} and "secretKeyRef" in var["valueFrom"] for var in env)  # no value
    values = {var["name"]: URLS.get(var["name"], "x") for var in env}
    # Kubernetes expands $(NAME) in args from the container's env.
    argv = [re.sub(r"\$\((\w+)\)", lambda m: values[m[1]], a) for a in container["command"][1:] + container["args"]]
    assert container["command"][0] == "mlkit"
    assert worker_args(argv) == {"git": URLS["MLKIT_GIT_REMOTE"], "dvc": URLS["MLKIT_DVC_REMOTE"],
                                 "storage": URLS["MLKIT_STORAGE"], "workdir": "/scratch"}
    assert not [a for a in container["command"] + container["args"] if "://" in a]
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= values.keys()
