"""mlkit search's workers on "other machines": each in a folder of its own, sharing only three URLs with the project.

A bare git repository (the git remote, also served over HTTP with a token: mlkit/testing/gitserver.py), `rclone serve s3`
(the DVC remote, mlkit/testing/s3server.py) and PostgreSQL with a password on a Unix socket (the study,
mlkit/testing/pgserver.py), all started here and stopped afterwards. Workers run from empty folders: nothing of the project
reaches them except through those URLs, which they read from the environment or from files, never from their command line.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import yaml

from mlkit.core.processes import alive
from mlkit.testing import ENV, Project, commands, digits_project, trial_accuracies
from mlkit.testing.gitserver import GitHttpServer
from mlkit.testing.pgserver import PgServer
from mlkit.testing.s3server import KEY, SECRET, S3Server, free_port
from mlkit.testing.silent import SilentServer
from mlkit.tools.experiments.queue import live_workers, stop_workers
from mlkit.tools.experiments.search_options import shown_storage

SPACE = ["--space", "model.C=log:0.5:20", "--space", "model.gamma=log:0.0002:0.005"]
GRID = ["--space", "model.C=choice:1,4", "--space", "model.gamma=choice:0.001"]
CREDS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
WORKER_ENV = {**ENV, **CREDS}
REMOTE = "store"
COMPLETE, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL
TIMEOUT = 1800  # a whole worker run: trials take minutes on a 2-core machine busy with other jobs
# Planted credentials: the study's database asks for PASSWORD, the HTTP git remote for TOKEN. Neither may appear
# in any output, study attribute or command line.
PASSWORD = f"pw-{secrets.token_hex(8)}"
TOKEN = f"tok-{secrets.token_hex(8)}"


class Setup:
    def __init__(self, project: Project, git_remote: Path, s3: S3Server, pg: PgServer, tmp: Path, http: GitHttpServer):
        self.project, self.git_remote, self.s3, self.pg, self.tmp = project, git_remote, s3, pg, tmp
        self.git_url = http.url("origin.git", f"oauth2:{TOKEN}")  # the same bare repository, over HTTP
        self.started: list[subprocess.Popen] = []

    def command(self, study: str, trials: int, dvc_remote: str = REMOTE, space: list[str] = SPACE) -> list[str]:
        return [sys.executable, "-m", "mlkit", "search", "--study", study, "--trials", str(trials),
                "--metric", "valid.accuracy", "--heartbeat", "2", *space, "--dvc-remote", dvc_remote]

    def worker(self, name: str, study: str, trials: int, storage: str | None = None,
               *extra: str, dvc_remote: str = REMOTE, git_remote: str | None = None,
               env: dict[str, str] | None = None, space: list[str] = SPACE) -> tuple[subprocess.Popen, Path]:
        """A worker started in an empty folder of its own; its clone goes under that folder. The database and
        git URLs are in its environment (MLKIT_STORAGE, MLKIT_GIT_REMOTE), as a Kubernetes Secret puts them."""
        home = self.tmp / name
        home.mkdir()
        urls = {"MLKIT_STORAGE": storage or self.pg.url, "MLKIT_GIT_REMOTE": git_remote or str(self.git_remote)}
        process = subprocess.Popen([*self.command(study, trials, dvc_remote, space), "--workdir", str(home / "work"),
                                    *extra],
                                   cwd=home, env={**WORKER_ENV, **urls, **(env or {})}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
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
    with S3Server(tmp / "s3") as s3, PgServer(password=PASSWORD) as pg:
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
        with GitHttpServer({"origin.git": tmp / "origin.git"}, "oauth2", TOKEN) as http:
            setup = Setup(project, tmp / "origin.git", s3, pg, tmp, http)
            try:
                yield setup
            finally:
                setup.stop_workers()


class CommandLines(threading.Thread):
    """Every process's command line, sampled until stopped: what `ps` shows any local user."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    self.seen.add(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:  # ended meanwhile
                    pass


def secret_file(path: Path, text: str) -> str:
    path.touch(mode=0o600)
    path.write_text(text + "\n")
    return str(path)


def test_two_workers_share_only_three_urls_and_show_no_credential(setup: Setup) -> None:
    """One worker reads the URLs from its environment, the other from mode-600 files; the git remote asks for a
    token, the database for a password."""
    ps = CommandLines()
    ps.start()
    # Two trials at once each: one batch per worker, as few DVC start-ups as the test allows.
    first = setup.worker("two-0", "two", 4, None, "--parallel", "2", git_remote=setup.git_url)
    files = setup.tmp / "secrets"
    files.mkdir()
    second = setup.worker("two-1", "two", 4, "sqlite:///not-this.db", "--parallel", "2",
                          "--storage-file", secret_file(files / "storage", setup.pg.url),
                          "--git-remote-file", secret_file(files / "git", setup.git_url))
    workers = [first, second]
    outputs = [process.communicate(timeout=TIMEOUT) for process, _ in workers]
    ps.stopped.set()
    ps.join()
    assert [process.returncode for process, _ in workers] == [0, 0], outputs
    assert all(not list((home / "work").iterdir()) for _, home in workers)  # each worker's clone is gone
    assert any("search" in line for line in ps.seen)  # the sampler saw the workers
    leaks = [text for text in [*(o + e for o, e in outputs), *ps.seen] if PASSWORD in text or TOKEN in text]
    assert not leaks
    assert all(f"study two ({shown_storage(setup.pg.url)})" in out for out, _ in outputs)
    assert ":***@" in shown_storage(setup.pg.url)

    study = trials(setup.pg.url, "two")
    assert sorted(t.number for t in study) == [0, 1, 2, 3]  # exactly the budget
    assert all(t.state == COMPLETE for t in study)
    assert len({t.user_attrs["worker"] for t in study}) == 2  # both ran trials
    assert len({tuple(sorted(t.params.items())) for t in study}) == 4  # no two alike
    stored = optuna.load_study(study_name="two", storage=setup.pg.url)
    attributes = repr([stored.user_attrs, *((t.user_attrs, t.system_attrs) for t in study)])
    assert PASSWORD not in attributes and TOKEN not in attributes

    viewer = setup.viewer("viewer-two")
    names = sorted(t.user_attrs["experiment"] for t in study)
    dvc(viewer, "exp", "pull", str(setup.git_remote), *names)
    assert shown(viewer, "two") == {t.user_attrs["experiment"]: t.value for t in study}  # metrics came back

    best = max(study, key=lambda t: t.value)
    name = best.user_attrs["experiment"]
    shown_url = setup.git_url.replace(TOKEN, "***")
    printed = f"experiment: {name}   (dvc exp pull {shown_url} {name} && dvc exp apply {name})"
    assert any(printed in out for out, _ in outputs)
    dvc(viewer, "exp", "apply", name)  # its outputs are on the DVC remote: apply checks them out
    assert "in sync" in dvc(viewer, "status", "-c").stdout


def test_a_killed_workers_grid_point_fails_by_heartbeat_and_is_retried(setup: Setup) -> None:
    """A sweep's grid (--grid: Optuna's GridSampler) on the search's workers: one is killed mid-trial."""
    doomed, doomed_home = setup.worker("kill-0", "kill", 2, None, "--grid", space=GRID)
    try:
        for line in doomed.stdout:  # its first trial is queued: kill it mid-trial, as a lost node would be
            if line.startswith("trial 0: kill-t000"):
                break
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        dead_clones = list((doomed_home / "work").glob("kill-*"))
        queue_workers = [pid for clone in dead_clones for pid in live_workers(clone)]
        # The next worker on this machine shares the folder (a node's scratch): it removes the dead one's clone.
        survivor, _ = setup.worker("kill-1", "kill", 2, None, "--grid", "--parallel", "2", "--workdir",
                                   str(doomed_home / "work"), space=GRID)
        out, err = survivor.communicate(timeout=TIMEOUT)
    finally:
        for clone in (doomed_home / "work").glob("*"):  # a failed test's leftovers: end their queue workers
            stop_workers(clone)
    assert survivor.returncode == 0, (out, err)
    assert len(dead_clones) == 1 and f"removed {dead_clones[0].name}: the clone of a worker" in out
    assert not list((doomed_home / "work").iterdir())  # neither clone is left
    assert not [pid for pid in queue_workers if alive(pid)]  # nor the dead worker's DVC queue workers

    study = trials(setup.pg.url, "kill")
    dead = study[0]
    assert dead.state == FAIL and dead.user_attrs["fail_reason"] == "heartbeat"
    assert "trial 0 FAILED: kill-t000: its worker" in out
    ran = [t for t in study if t.number != 0]
    assert len(ran) == 2 and all(t.state == COMPLETE for t in ran)  # the slot was reused: 2 trials ran
    retried = [t for t in ran if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1 and retried[0].params == dead.params  # with the same params
    assert sorted(t.params["model.C"] for t in ran) == [1, 4]  # each grid point ran once

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
        worker, home = setup.worker("gone", "gone", 3, pg.url, "--outage", "2", dvc_remote=folder)
        for line in worker.stdout:  # the first trial was pushed and told: then the database goes away
            if line.startswith("trial 0: gone-t000 valid.accuracy = "):
                break
        pg.stop(mode="immediate")
        out, err = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 1
    assert err.strip().splitlines()[-1].startswith(
        f"error: --storage {shown_storage(pg.url)}: the study's database went away for over 2 s (--outage) (")
    assert "told FAIL" not in err  # its trial in flight could not be told: no line says it was
    assert "Traceback" not in err
    refs = git(setup.tmp, "ls-remote", str(setup.git_remote), "refs/exps/*").stdout
    assert "gone-t000" in refs
    viewer = setup.viewer("viewer-gone")
    dvc(viewer, "remote", "add", "--local", "--default", "folder", folder)
    dvc(viewer, "exp", "pull", str(setup.git_remote), "gone-t000")
    dvc(viewer, "exp", "apply", "gone-t000")
    assert "in sync" in dvc(viewer, "status", "-c").stdout  # the trial's outputs are on the folder remote
    assert not list((home / "work").iterdir())  # the clone is removed


def test_an_s3_outage_during_a_push_leaves_no_ref_and_the_trial_is_retried(setup: Setup) -> None:
    worker, _ = setup.worker("s3-outage", "s3", 1)
    failures, refs_meanwhile = 0, []
    try:
        for line in worker.stdout:  # its trial is running: the DVC remote goes away before the push
            if line.startswith("trial 0: s3-t000"):
                setup.s3.kill()
            elif line.startswith("push of s3-t000 failed"):
                failures += 1
                refs_meanwhile.append(git(setup.tmp, "ls-remote", str(setup.git_remote), "refs/exps/*").stdout)
                if "giving up" in line:
                    setup.s3.start()  # back for the retried trial
                    break
        out, err = worker.communicate(timeout=TIMEOUT)
    finally:
        if setup.s3.process is None:
            setup.s3.start()
    assert worker.returncode == 0, (out, err)
    assert failures == 4  # tried again with backoff before the trial was given up
    assert not [refs for refs in refs_meanwhile if "s3-t000" in refs]  # no ref while its outputs were missing
    first, retried = trials(setup.pg.url, "s3")
    assert first.state == FAIL and first.user_attrs["fail_reason"] == "push"
    assert retried.state == COMPLETE and retried.params == first.params
    assert retried.system_attrs.get("failed_trial") == 0
    assert "trial 0 FAILED: s3-t000: its outputs did not reach DVC remote store" in out
    refs = git(setup.tmp, "ls-remote", str(setup.git_remote), "refs/exps/*").stdout
    assert "s3-t000" not in refs and "s3-t001" in refs
    viewer = setup.viewer("viewer-s3")
    dvc(viewer, "exp", "pull", str(setup.git_remote), "s3-t001")
    dvc(viewer, "exp", "apply", "s3-t001")
    assert "in sync" in dvc(viewer, "status", "-c").stdout  # the retried trial's outputs are on S3


def test_a_database_outage_is_waited_through(setup: Setup) -> None:
    """The database stops while a trial runs and comes back seconds later: the worker reconnects, tells the
    study, and runs the rest of the budget; no trial is lost or run twice."""
    with PgServer(password=PASSWORD) as pg:
        worker, _ = setup.worker("outage", "outage", 2, pg.url, "--outage", "120")
        for line in worker.stdout:
            if line.startswith("trial 0: outage-t000"):  # asked, its experiment starts: the database goes away
                pg.stop(mode="immediate")
                time.sleep(8)
                pg.start()
                break
        out, err = worker.communicate(timeout=TIMEOUT)
        study = trials(pg.url, "outage")
    assert worker.returncode == 0, (out, err)
    assert [t.state for t in study] == [COMPLETE, COMPLETE]
    assert "database back after" in out or "unreachable" not in out  # said so if it saw the outage
    assert "told FAIL" not in err


@pytest.mark.fast
def test_a_silent_database_fails_in_one_line_within_the_timeout(tmp_path: Path) -> None:
    with SilentServer() as silent:
        url = f"postgresql+psycopg://mlkit:{PASSWORD}@127.0.0.1:{silent.port}/optuna"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "mlkit", "search", "--study", "s", "--trials", "1", *SPACE,
                               "--git-remote", "/nowhere.git", "--dvc-remote", "store", "--timeout", "2"],
                              cwd=tmp_path, env={**ENV, "MLKIT_STORAGE": url}, capture_output=True, text=True,
                              timeout=60)
        took = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: --storage postgresql+psycopg://mlkit:***@127.0.0.1:{silent.port}/optuna: no answer from "
        f"127.0.0.1:{silent.port} within 2 s (--timeout)"]
    assert took < 2 + 10  # the timeout, plus the interpreter's start


@pytest.mark.parametrize("scheme", ["http", "git"])
def test_a_silent_git_host_fails_in_one_line_within_the_timeout(tmp_path: Path, scheme: str) -> None:
    """An HTTP git host (curl's low-speed limit) and a git daemon (git:// has no timeout of its own: a relay,
    mlkit/core/git_proxy.py) that accept the connection and never answer."""
    home = tmp_path / "worker"
    home.mkdir()
    with SilentServer() as silent, PgServer(password=PASSWORD) as pg:
        login = f"oauth2:{TOKEN}@" if scheme == "http" else ""
        url = f"{scheme}://{login}127.0.0.1:{silent.port}/team/mlkit.git"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "mlkit", "search", "--study", "s", "--trials", "1", *SPACE,
                               "--dvc-remote", REMOTE, "--timeout", "2", "--workdir", str(home / "work")],
                              cwd=home, env={**WORKER_ENV, "MLKIT_STORAGE": pg.url, "MLKIT_GIT_REMOTE": url},
                              capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    shown = url.replace(TOKEN, "***")
    assert len(lines) == 1 and lines[0].startswith(
        f"error: --git-remote {shown}: no answer from 127.0.0.1:{silent.port} within 2 s (--timeout)"), lines
    assert TOKEN not in done.stdout + done.stderr
    assert took < 2 + 20  # the timeout, plus the interpreter's start and the study's database
    assert not list((home / "work").iterdir())  # no clone, no git settings or relay left


def test_a_refused_git_connection_and_wrong_s3_keys_say_why(setup: Setup) -> None:
    refused, home = setup.worker("refused", "refused", 1, git_remote=f"git://127.0.0.1:{free_port()}/team/mlkit.git")
    out, err = refused.communicate(timeout=300)
    assert refused.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert "git clone failed" in err and "Connection refused" in err  # the reason, not "unable to connect to"

    keys, home = setup.worker("wrong-keys", "keys", 1, env={"AWS_SECRET_ACCESS_KEY": "not-the-key"})
    out, err = keys.communicate(timeout=300)
    assert keys.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: --dvc-remote {REMOTE}: dvc pull failed (") and "403" in err
    assert err.strip().endswith("the remote refused this worker's credentials: give it the right keys "
                                "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE)")
    assert "not-the-key" not in err and not list((home / "work").iterdir())


@pytest.mark.fast
@pytest.mark.parametrize(("space", "message"), [
    (SPACE, "error: --grid: every --space must be a choice:A,B,... (not log:0.5:20, log:0.0002:0.005)"),
    (GRID, "error: --trials 3: the grid has 2 points; give --trials 2"),
])
def test_a_grid_is_checked_before_anything_runs(tmp_path: Path, space: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mlkit", "search", "--study", "g", "--trials", "3", "--grid", *space],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert (done.returncode, done.stderr.strip().splitlines()) == (1, [message])
    assert not os.listdir(tmp_path)


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
URLS = {"MLKIT_GIT_REMOTE": "https://oauth2:token-1@git.test/team/mlkit.git", "MLKIT_DVC_REMOTE": "s3://bucket-2/store",
        "MLKIT_STORAGE": "postgresql+psycopg://u:secret-3@db.test/optuna"}


def worker_args(argv: list[str], env: dict[str, str] | None = None) -> dict[str, str | None]:
    """The worker command's options, parsed by mlkit's own command line (options from `env` too, as Click
    reads them) and checked by SearchOptions."""
    import typer

    from mlkit import cli
    from mlkit.tools.experiments.search_options import SearchOptions, read_secret_file

    assert argv[0] == "search"
    command = typer.main.get_command(cli.app)
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with command.make_context("mlkit", list(argv)) as ctx:
            name, search, rest = command.resolve_command(ctx, list(argv))
            assert name == "search" and search is not None
            with search.make_context(name, rest, parent=ctx) as parsed:
                params = dict(parsed.params)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for option in ("storage", "git_remote"):
        path = params.pop(f"{option}_file")
        if path:
            params[option] = read_secret_file(path, f"--{option.replace('_', '-')}-file")
    options = SearchOptions(**params)
    return {"git": options.git_remote, "dvc": options.dvc_remote, "storage": options.storage,
            "workdir": options.workdir}


def no_credential_in(argv: list[str]) -> bool:
    """Neither the database URL nor the git URL (nor their credentials) is on the command line."""
    return not [a for a in argv if "token-1" in a or "secret-3" in a or "db.test" in a or "git.test" in a]


@pytest.mark.fast
def test_the_slurm_array_reads_the_urls_from_mode_600_files(tmp_path: Path) -> None:
    script = TEMPLATES / "slurm" / "search-worker.sbatch"
    stub = tmp_path / "bin" / "mlkit"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "argv"}\n')
    stub.chmod(0o755)
    secrets = tmp_path / "private"
    secrets.mkdir(mode=0o700)
    secret_file(secrets / "storage", URLS["MLKIT_STORAGE"])
    secret_file(secrets / "git-remote", URLS["MLKIT_GIT_REMOTE"])
    env = {"MLKIT_DVC_REMOTE": URLS["MLKIT_DVC_REMOTE"], "MLKIT_SECRETS": str(secrets),
           "PATH": f"{stub.parent}:{os.environ['PATH']}", "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "2",
           "TMPDIR": str(tmp_path)}
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    argv = (tmp_path / "argv").read_text().splitlines()
    assert no_credential_in(argv)
    assert worker_args(argv) == {"git": URLS["MLKIT_GIT_REMOTE"], "dvc": URLS["MLKIT_DVC_REMOTE"],
                                 "storage": URLS["MLKIT_STORAGE"], "workdir": f"{tmp_path}/mlkit-search-7-2"}
    text = script.read_text()
    assert all(f"#SBATCH {option}" in text for option in ("--array=", "--time=", "--requeue", "--signal="))

    (secrets / "storage").chmod(0o644)  # a file others may read is refused, naming the fix
    with pytest.raises(Exception, match=r"readable by others .*chmod 600"):
        worker_args(argv)
    (tmp_path / "argv").unlink()
    (secrets / "storage").unlink()
    missing = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "storage: missing" in missing.stderr  # stops before any worker starts
    assert not (tmp_path / "argv").exists()
    code = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    assert not [ln for ln in code if "://" in ln or re.search(r"(KEY|SECRET|PASSWORD)\w*=", ln)]


@pytest.mark.fast
def test_the_k8s_job_reads_the_urls_from_a_secret_and_is_bounded() -> None:
    job = yaml.safe_load((TEMPLATES / "k8s" / "search-worker.yaml").read_text())
    assert job["kind"] == "Job" and job["spec"]["parallelism"] >= 2
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] > 0 and spec["ttlSecondsAfterFinished"] > 0 and spec["backoffLimit"] >= 1
    container = spec["template"]["spec"]["containers"][0]
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    env = container["env"]
    assert all(set(var) == {"name", "valueFrom"} and "secretKeyRef" in var["valueFrom"] for var in env)  # no value
    values = {var["name"]: URLS.get(var["name"], "x") for var in env}
    # No `command`: the image's entrypoint (tini, then mlkit) runs the args; the URLs come from the env.
    assert "command" not in container
    argv = container["args"]
    assert no_credential_in(argv) and not [a for a in argv if "$(" in a]
    assert worker_args(argv, values) == {"git": URLS["MLKIT_GIT_REMOTE"], "dvc": "storage",
                                         "storage": URLS["MLKIT_STORAGE"], "workdir": "/scratch"}
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= values.keys()
    dockerfile = (TEMPLATES / "worker" / "Dockerfile").read_text()
    entrypoint = [ln for ln in dockerfile.splitlines() if ln.startswith("ENTRYPOINT")]
    assert entrypoint and '"tini"' in entrypoint[0] and '"mlkit"' in entrypoint[0]
    assert "scripts/setup.sh" in dockerfile
