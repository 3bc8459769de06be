"""A search worker's git:// remote: git and dulwich (what `dvc exp push` runs) reach a real git daemon through the
relay that gives git's own protocol a timeout (mlkit/core/git_proxy.py); a silent one is covered in
test_search_workers.py."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scmrepo.git import Git

from mlkit.core import vcs
from mlkit.testing.s3server import free_port
from mlkit.tools.experiments.search_clone import git_environment, proxy_path, remove_git_settings

GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[str]:
    """`git daemon` on 127.0.0.1 serving tmp_path/origin.git (one commit on main), pushes allowed."""
    git("init", "-q", "--bare", "-b", "main", "origin.git", cwd=tmp_path)
    git("init", "-q", "-b", "main", "src", cwd=tmp_path)
    git(*GIT_ID, "commit", "-q", "--allow-empty", "-m", "one", cwd=tmp_path / "src")
    git("push", "-q", str(tmp_path / "origin.git"), "main", cwd=tmp_path / "src")
    port = free_port()
    process = subprocess.Popen(["git", "daemon", "--listen=127.0.0.1", f"--port={port}", f"--base-path={tmp_path}",
                                "--export-all", "--enable=receive-pack", "--reuseaddr", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"git://127.0.0.1:{port}/origin.git"
    try:
        for _ in range(100):  # listening once ls-remote answers
            if subprocess.run(["git", "ls-remote", url], capture_output=True, timeout=10).returncode == 0:
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.fast
def test_a_git_daemon_is_cloned_and_pushed_to_through_the_relay(daemon: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GIT_TERMINAL_PROMPT", "GIT_HTTP_LOW_SPEED_LIMIT", "GIT_HTTP_LOW_SPEED_TIME", "GIT_SSH_COMMAND",
                "GIT_CONFIG_GLOBAL", "GIT_PROXY_COMMAND"):
        monkeypatch.delenv(key, raising=False)  # git_environment sets them in this process: restored afterwards
    config = tmp_path / "work" / ".w.gitconfig"
    bare = git_environment(daemon, 5, config)
    relay = proxy_path(config)
    log = tmp_path / "relay.log"  # the relay's script, made to note each connection it carries
    relay.write_text(relay.read_text().replace("exec ", f'echo "$@" >> {log}\nexec ', 1))

    vcs.clone(bare, tmp_path / "clone", tmp_path)
    clone = tmp_path / "clone"
    git("checkout", "-q", "main", cwd=clone)
    git(*GIT_ID, "commit", "-q", "--allow-empty", "-m", "two", cwd=clone)
    git("update-ref", "refs/exps/ab/cdef/w-t000", "HEAD", cwd=clone)
    pushed = Git(str(clone), backends=["dulwich"]).push_refspecs(
        bare, ["refs/exps/ab/cdef/w-t000:refs/exps/ab/cdef/w-t000"], force=True)

    assert [status.name for status in pushed.values()] == ["SUCCESS"]
    head = git("rev-parse", "HEAD", cwd=clone).strip()
    assert git("rev-parse", "refs/exps/ab/cdef/w-t000", cwd=tmp_path / "origin.git").strip() == head
    port = daemon.rsplit(":", 1)[1].split("/")[0]
    assert log.read_text().splitlines() == [f"127.0.0.1 {port}"] * 2  # the clone (git), the push (dulwich)
    assert oct(relay.stat().st_mode & 0o777) == "0o700"
    remove_git_settings(config)
    assert not os.listdir(config.parent)


@pytest.mark.fast
def test_a_refused_connection_says_so_in_git_s_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GIT_TERMINAL_PROMPT", "GIT_HTTP_LOW_SPEED_LIMIT", "GIT_HTTP_LOW_SPEED_TIME", "GIT_SSH_COMMAND",
                "GIT_CONFIG_GLOBAL", "GIT_PROXY_COMMAND"):
        monkeypatch.delenv(key, raising=False)
    url = f"git://127.0.0.1:{free_port()}/origin.git"
    bare = git_environment(url, 5, tmp_path / ".w.gitconfig")
    started = time.monotonic()
    done = subprocess.run(["git", "ls-remote", bare], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"unable to connect to 127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}: Connection refused" in done.stderr
    assert time.monotonic() - started < 10
