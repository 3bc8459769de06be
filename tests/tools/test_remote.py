"""Remote storage through a real S3 server (`rclone serve s3` on 127.0.0.1): push, clone + pull, experiments,
wrong credentials, a dead server, a server killed mid-push, an S3 source imported with `dvc import-url`, no secret in git."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from mlkit.testing import ENV, ROOT, Project, commands, dataset, emotion_project
from mlkit.testing.s3server import KEY, SECRET, S3Server
from mlkit.tools.remote import tracked_secrets

BUCKET = "dvc"
REMOTE_URL = f"s3://{BUCKET}/store"
OUTPUT_DIRS = ("data", "models", "metrics")
UP_TO_DATE = "Data and pipelines are up to date"
OBJECT = re.compile(r"[0-9a-f]{30}(\.dir)?")  # files/md5/XX/<30 hex>: a cache object's name on the remote


def sh(project: Project | Path, *args: str, env: dict | None = None, check: bool = True,
       timeout: float = 180) -> subprocess.CompletedProcess:
    """A command in the project, with a time limit (a hung transfer fails the test instead of the run)."""
    cwd = project.path if isinstance(project, Project) else project
    return commands.run(*args, cwd=cwd, env=env, check=check, timeout=timeout)


def dvc(project: Project | Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return sh(project, *commands.dvc_command(*args), **kwargs)


def git(project: Project | Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return sh(project, "git", *args, **kwargs)


def hashes(root: Path, tops: tuple[str, ...] = OUTPUT_DIRS) -> dict[str, str]:
    """md5 of every file under `tops` (the pipeline's outputs), by relative path."""
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for top in tops for p in sorted((root / top).rglob("*")) if p.is_file()}


def pushed(output: str) -> int:
    found = re.search(r"(\d+) files? pushed", output)
    return int(found[1]) if found else 0


def use_s3(project: Project, server: S3Server, secret: str = SECRET) -> None:
    """The README's set-up: remote in .dvc/config, keys from the environment into .dvc/config.local."""
    sh(project, sys.executable, "-m", "mlkit", "remote", "add", "storage", REMOTE_URL, "--endpoint", server.endpoint,
       "--default", "--local-credentials", env={"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": secret})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project on 1,500 emotion rows, `dvc repro` done and committed once for the whole module."""
    project = emotion_project(tmp_path_factory.mktemp("built") / "project")
    dvc(project, "repro")
    project.commit("pipeline run")
    return project.path


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Project:
    """A private copy of the built project (its git history and DVC cache included)."""
    shutil.copytree(built, tmp_path / "project", symlinks=True)
    return Project(tmp_path / "project")


@pytest.fixture
def server(tmp_path: Path):
    """A real S3 server with an empty bucket; stopped afterwards whatever the test did to it."""
    s3 = S3Server(tmp_path / "s3")
    s3.bucket(BUCKET)  # before start: rclone caches the top-level listing
    s3.start()
    yield s3
    s3.stop()


def cache_snapshot(project: Project) -> dict[str, str]:
    return hashes(project.path, (".dvc/cache",))


def test_no_tracked_file_holds_a_secret(project: Project, server: S3Server) -> None:
    assert tracked_secrets(ROOT) == []  # the repository itself
    use_s3(project, server)
    project.commit("remote set up")
    assert KEY in (project.path / ".dvc/config.local").read_text()
    assert git(project, "check-ignore", ".dvc/config.local").returncode == 0
    assert tracked_secrets(project.path) == []
    assert SECRET not in git(project, "show", "HEAD").stdout
    # The check is not vacuous: a key committed by mistake is found and named.
    (project.path / "leak.ini").write_text(f"secret_access_key = {SECRET}\n")
    project.commit("oops")
    assert tracked_secrets(project.path) == ["leak.ini"]
    failed = sh(project, sys.executable, "-m", "mlkit", "remote", "secrets", check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("error: credentials in tracked files: leak.ini")


def test_push_then_clone_and_pull_is_byte_identical(project: Project, server: S3Server, tmp_path: Path) -> None:
    use_s3(project, server)
    project.commit("remote set up")
    first = dvc(project, "push")
    assert pushed(first.stdout) == len(server.objects(BUCKET)) > 0
    assert "in sync" in dvc(project, "status", "-c").stdout

    # A colleague: a fresh clone, credentials from the environment only, then pull.
    git(tmp_path, "clone", "-q", str(project.path), "clone")
    clone = tmp_path / "clone"
    assert not (clone / ".dvc/config.local").exists() and not (clone / "models/model").exists()
    creds = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    dvc(clone, "pull", env=creds)
    expected = hashes(project.path)
    assert len(expected) > 10 and hashes(clone) == expected
    assert UP_TO_DATE in dvc(clone, "repro").stdout
    assert "in sync" in dvc(clone, "status", "-c", env=creds).stdout


def test_experiment_travels_through_git_and_s3(project: Project, server: S3Server, tmp_path: Path) -> None:
    use_s3(project, server)
    project.commit("remote set up")
    git(tmp_path, "init", "-q", "--bare", "-b", "main", "origin.git")
    git(project, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(project, "push", "-q", "origin", "main")
    dvc(project, "push")

    dvc(project, "exp", "run", "-n", "small-c", "-S", "model.C=0.05")
    dvc(project, "exp", "push", "origin", "small-c")
    expected = hashes(project.path)
    git(project, "checkout", "-q", "--", "params.yaml", "dvc.lock")

    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), "clone")
    clone = tmp_path / "clone"
    creds = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    assert "small-c" in dvc(clone, "exp", "list", "origin", env=creds).stdout
    dvc(clone, "exp", "pull", "origin", "small-c", env=creds)
    dvc(clone, "exp", "apply", "small-c", env=creds)
    assert yaml.safe_load((clone / "params.yaml").read_text())["model"]["C"] == 0.05
    assert hashes(clone) == expected  # the experiment's model and metrics, byte for byte
    assert UP_TO_DATE in dvc(clone, "repro").stdout


def test_wrong_credentials_fail_clearly_and_touch_nothing(project: Project, server: S3Server) -> None:
    use_s3(project, server, secret="not-the-secret")
    cache, outputs = cache_snapshot(project), hashes(project.path)
    failed = dvc(project, "push", check=False, timeout=60)
    assert failed.returncode != 0
    assert "Forbidden" in failed.stderr or "403" in failed.stderr, failed.stderr
    assert cache_snapshot(project) == cache and hashes(project.path) == outputs
    assert server.objects(BUCKET) == []
    checked = sh(project, sys.executable, "-m", "mlkit", "remote", "check", check=False, timeout=60)
    assert checked.returncode == 1 and checked.stderr.startswith("error: remote storage (s3://dvc/store): access denied")


def test_dead_server_fails_in_seconds_and_loses_nothing(project: Project, server: S3Server) -> None:
    use_s3(project, server)
    cache, outputs = cache_snapshot(project), hashes(project.path)
    server.stop()
    started = time.monotonic()
    failed = dvc(project, "push", check=False, timeout=60)
    seconds = time.monotonic() - started
    assert failed.returncode != 0 and "Could not connect to the endpoint URL" in failed.stderr, failed.stderr
    assert seconds < 8, f"a dead endpoint took {seconds:.1f} s to fail"
    assert cache_snapshot(project) == cache and hashes(project.path) == outputs
    server.start()  # back up: the same push now works
    assert pushed(dvc(project, "push").stdout) > 0


def test_push_killed_midway_resumes_with_only_the_missing_files(project: Project, tmp_path: Path) -> None:
    # A throttled server and 16 x 1 MiB of extra data make the push last seconds, so it can be cut.
    bulk = project.path / "bulk"
    bulk.mkdir()
    for i in range(16):
        (bulk / f"part{i:02}.bin").write_bytes(os.urandom(1 << 20))
    dvc(project, "add", "bulk")
    server = S3Server(tmp_path / "s3", extra=("--bwlimit", "4M"))
    server.bucket(BUCKET)
    try:
        server.start()
        use_s3(project, server)
        dvc(project, "remote", "modify", "storage", "jobs", "2")
        # Complete objects only: rclone writes an upload under a temporary name and renames it when done.
        done = lambda: [p for p in server.objects(BUCKET) if OBJECT.fullmatch(p.name)]  # noqa: E731
        push = subprocess.Popen(commands.dvc_command("push"), cwd=project.path, env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.extend(push.communicate(timeout=120)))
        reader.start()
        deadline = time.monotonic() + 60
        while len(done()) < 3 and push.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()
        reader.join(timeout=130)
        assert push.returncode not in (0, None), f"push was not cut:\n{out}"
        before = len(done())
        cache = cache_snapshot(project)

        server.start()
        resumed = dvc(project, "push", timeout=120)
        total = len(done())
        assert 0 < before < total
        assert pushed(resumed.stdout) == total - before  # only what was missing
        assert "in sync" in dvc(project, "status", "-c").stdout
        assert cache_snapshot(project) == cache
        cached = project.path / ".dvc/cache/files/md5"
        assert {str(p.relative_to(server.root / BUCKET / "store/files/md5")) for p in done()} == {
            str(p.relative_to(cached)) for p in cached.rglob("*") if p.is_file()}
        for obj in done():  # every object whole: its content hashes to its name
            if not obj.name.endswith(".dir"):
                assert hashlib.md5(obj.read_bytes()).hexdigest() == obj.parent.name + obj.name
    finally:
        server.stop()


def test_s3_source_is_imported_through_a_dvc_remote(project: Project, server: S3Server) -> None:
    # The README's recipe: a DVC remote for the source bucket (endpoint in .dvc/config, keys in config.local),
    # and `import_url: remote://NAME/KEY`; fetch reads the imported copy, `dvc update` takes a new version in.
    import s3fs

    fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, client_kwargs={"endpoint_url": server.endpoint},
                           skip_instance_cache=True)
    fs.mkdir("sources")
    lines = dataset("emotion/val.txt").read_text().splitlines(keepends=True)
    fs.pipe("sources/emotion/val.txt", "".join(lines[:300]).encode())
    sh(project, sys.executable, "-m", "mlkit", "remote", "add", "sources", "s3://sources", "--endpoint",
       server.endpoint, "--local-credentials", env={"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET})
    source = {"kind": "file", "path": "data/sources/emotion/val.txt", "import_url": "remote://sources/emotion/val.txt",
              "format": "lines", "sep": ";"}
    project.set_params(data={"sources": [source], "limit": None})
    sh(project, sys.executable, "-m", "mlkit", "import", timeout=60)
    assert project.stage("fetch").returncode == 0
    assert json.loads(project.file("metrics/data_card.json").read_text())["rows_per_source"] == {"val": 300}

    fs.pipe("sources/emotion/val.txt", "".join(lines[:400]).encode())
    dvc(project, "update", "data/sources/emotion/val.txt.dvc", timeout=60)
    assert "changed deps" in dvc(project, "status", "fetch").stdout
    assert project.stage("fetch").returncode == 0
    assert json.loads(project.file("metrics/data_card.json").read_text())["rows_per_source"] == {"val": 400}
    assert tracked_secrets(project.path) == []  # the keys stayed in config.local
