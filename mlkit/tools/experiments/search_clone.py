"""A search worker's private clone: its own DVC queue; the origin's DVC cache, or a DVC remote (mlkit search)."""

from __future__ import annotations

import math
import os
import shlex
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError, first_line
from mlkit.core.processes import alive
from mlkit.tools import dvc_repo
from mlkit.tools.experiments import dvc_experiments
from mlkit.tools.experiments import queue as ex

METRICS_FILE = paths.EVAL_METRICS
LOG_TAIL = 15
POLL_SECONDS = 2.0
DVC_REMOTE = "mlkit-search"  # the name a worker gives a --dvc-remote URL in its clone's local config
PUSH_TRIES = 4  # a transient remote failure: pushed again after 2, 4, 8 s before the trial is given up
GIT_USER_ENV, GIT_TOKEN_ENV = "MLKIT_GIT_USERNAME", "MLKIT_GIT_PASSWORD"
# git asks this helper for the remote's credentials: they stay in the worker's environment, never in a
# command line, a URL on disk or an error. scmrepo (dulwich) runs `!` helpers too.
CREDENTIAL_HELPER = (f'!f() {{ test "$1" = get || exit 0; echo "username=${{{GIT_USER_ENV}}}"; '
                     f'echo "password=${{{GIT_TOKEN_ENV}}}"; }}; f')


def git_environment(url: str, timeout: float, config: Path) -> str:
    """Set up this process's environment (inherited by git, DVC and the queue) for the git remote: its
    credentials out of the URL into a credential helper, and timeouts on every transfer. The URL without
    credentials, to clone."""
    from mlkit.tools.experiments.search_options import split_git_url

    bare, user, token = split_git_url(url)
    seconds = max(1, math.ceil(timeout))
    os.environ["GIT_TERMINAL_PROMPT"] = "0"  # a missing credential fails instead of waiting for a terminal
    # git's curl: a transfer under 1 byte/s for `seconds` is aborted (a host that accepts and never answers).
    os.environ["GIT_HTTP_LOW_SPEED_LIMIT"] = "1"
    os.environ["GIT_HTTP_LOW_SPEED_TIME"] = str(seconds)
    os.environ.setdefault("GIT_SSH_COMMAND", f"ssh -o BatchMode=yes -o ConnectTimeout={seconds} "
                          f"-o ServerAliveInterval={seconds} -o ServerAliveCountMax=1")
    lines = ["[http]", f"\ttimeout = {seconds}", "\tlowSpeedLimit = 1", f"\tlowSpeedTime = {seconds}"]
    if bare.startswith("git://") and "GIT_PROXY_COMMAND" not in os.environ:
        # git's own protocol has no timeout: git and dulwich reach the host through a relay that has one.
        proxy = proxy_path(config)
        proxy.parent.mkdir(parents=True, exist_ok=True)
        proxy.touch(mode=0o700)
        proxy.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mlkit.cli.git_proxy {seconds} "$@"\n',
                         encoding="utf-8")
        lines += ["[core]", f"\tgitProxy = {proxy}"]
    if user is not None:
        os.environ[GIT_USER_ENV] = user if token else "oauth2"
        os.environ[GIT_TOKEN_ENV] = token or user
        quoted = CREDENTIAL_HELPER.replace("\\", "\\\\").replace('"', '\\"')
        lines += ["[credential]", f'\thelper = "{quoted}"']  # quoted: ';' would start a comment
    # git and dulwich (DVC's git client) both read a global config file named by GIT_CONFIG_GLOBAL; the
    # user's own is included.
    own = os.environ.get("GIT_CONFIG_GLOBAL") or str(Path.home() / ".gitconfig")
    if Path(own).is_file() and Path(own) != config:
        lines = ["[include]", f"\tpath = {own}", *lines]
    config.parent.mkdir(parents=True, exist_ok=True)
    config.touch(mode=0o600)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.environ["GIT_CONFIG_GLOBAL"] = str(config)
    return bare


def proxy_path(config: Path) -> Path:
    """The git:// relay's script beside a worker's git settings."""
    return config.with_name(config.name.removesuffix(".gitconfig") + ".git-proxy")


def remove_git_settings(config: Path) -> None:
    config.unlink(missing_ok=True)
    proxy_path(config).unlink(missing_ok=True)


def s3_timeouts(remote: str, timeout: float, root: Path) -> None:
    """An S3 DVC remote without its own timeouts gets the worker's (clone-local config)."""
    config = dvc_repo.merged_config(root)
    settings = config.get("remote", {}).get(remote, {})
    if not str(settings.get("url", "")).startswith("s3://"):
        return
    for key in ("connect_timeout", "read_timeout"):
        if key not in settings:
            dvc_repo.set_remote_option(remote, key, str(max(1, math.ceil(timeout))), local=True, root=root)


@dataclass
class Clone:
    """A worker's private clone: its own DVC queue, the origin repository's DVC cache."""

    path: Path
    origin: Path | str  # as it may be shown (credentials masked)
    dvc_remote: str | None = None  # a remote worker's: experiments push their outputs there
    git_config: Path | None = None  # a remote worker's git settings (GIT_CONFIG_GLOBAL), removed with the clone

    @classmethod
    def create(cls, root: Path, study: str) -> Clone:
        head = vcs.head(root)
        path = root / ".dvc" / "tmp" / "search" / f"{study}-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        vcs.clone(str(root), path, root)
        vcs.checkout_detached(head, path)
        dvc_repo.share_cache(root, path)
        return cls(path, root)

    @classmethod
    def from_remote(cls, url: str, dvc_remote: str, rev: str | None, workdir: Path, study: str,
                    timeout: float = 30.0) -> Clone:
        """A remote worker's clone: `git clone URL`, REV checked out (default: the remote's HEAD), the DVC
        remote (a name in the project's DVC config, or a URL added to the clone's local config), `dvc pull`."""
        from mlkit.tools.experiments.search_options import shown_git

        shown = shown_git(url)
        path = workdir / f"{study}-{socket.gethostname()}-{os.getpid()}"
        remove_dead(workdir)
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        config = workdir / f".{path.name}.gitconfig"
        bare = git_environment(url, timeout, config)
        try:
            vcs.clone(bare, path, workdir)
        except PipelineError as exc:
            why = first_line(exc, limit=600)
            if "too slow" in why or "timed out" in why.lower():
                why = f"no answer from {host_of(bare)} within {timeout:g} s (--timeout) ({why})"
            else:  # git's first line can stop before the reason ("unable to connect to HOST:"): all of it
                why = f"git clone failed: {vcs.remote_error(bare, workdir) or why.removeprefix('git clone failed: ')}"
            remove_git_settings(config)
            raise PipelineError(f"--git-remote {shown}: {why}") from None
        clone = cls(path, shown, git_config=config)
        try:
            target = rev or "origin/HEAD"
            try:
                found = vcs.resolve_rev(target, "--rev", path)
            except PipelineError:
                raise PipelineError(f"--rev {target}: no such commit, tag or branch in {url}") from None
            vcs.checkout_detached(found, path)
            if dvc_remote in dvc_repo.remote_names(path):
                clone.dvc_remote = dvc_remote
            else:
                dvc_repo.add_remote(DVC_REMOTE, dvc_remote, local=True, root=path)
                clone.dvc_remote = DVC_REMOTE
            s3_timeouts(clone.dvc_remote, timeout, path)
            try:
                dvc_repo.pull_outputs(clone.dvc_remote, path)
            except PipelineError as exc:
                raise PipelineError(f"--dvc-remote {dvc_remote}: {first_line(exc, limit=600)}; "
                                    f"{pull_advice(str(exc))}") from None
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            remove_git_settings(config)
            raise
        return clone

    @property
    def commit(self) -> str:
        return vcs.head(self.path)
    def queue(self, name: str, overrides: list[str]) -> str | None:
        """Queue one experiment; the error text when DVC refuses it."""
        try:
            dvc_experiments.queue_experiments(overrides, name, self.path)
        except PipelineError as exc:
            return str(exc)
        return None

    def run_queue(self, names: list[str], jobs: int) -> None:
        """Run the named entries with the clone's own queue workers, which are stopped once they are done."""
        # The clone's queue is this worker's alone, and its entries are named: a name finds its task.
        revs = [entry["rev"] for entry in ex.queue_status(self.path) if entry["name"] in names]
        ex.wait(revs, jobs, self.path, poll=POLL_SECONDS, stop=True, report=lambda line: print(line, flush=True))

    def results(self, names: list[str], metric: str) -> dict[str, float | str]:
        """Name -> the metric's value, or why the experiment has none (a failed one's row holds the
        baseline's metrics: only State decides)."""
        rows = {row["Experiment"]: row for row in dvc_experiments.experiment_rows(self.path) if row.get("Experiment")}
        out: dict[str, float | str] = {}
        for name in names:
            row = rows.get(name)
            if row is None or row.get("State") != "Success":
                tail = "\n".join(f"    | {line}" for line in ex.failure_log(name, self.path, LOG_TAIL).splitlines())
                out[name] = f"the experiment {'failed' if row else 'is missing'}\n{tail}"
                continue
            # exp_show names a metric by its key alone unless two files share it (then `file:key`).
            values = row.get(f"{METRICS_FILE}:{metric}", row.get(metric))
            if isinstance(values, (int, float)) and not isinstance(values, bool) and math.isfinite(values):
                out[name] = float(values)
            else:
                out[name] = f"{metric} is not a number in {METRICS_FILE} (got {values!r})"
        return out

    def push(self, names: list[str], tries: int = PUSH_TRIES) -> dict[str, str | None]:
        """Push finished experiments: name -> why it did not arrive, or None. A remote worker's outputs go to
        its DVC remote first, and only once they are all there does the experiment's ref go to the git remote
        (an experiment listed there can always be applied); a local worker's outputs are in the shared cache
        already, so only its refs travel. A failed push is tried again after 2, 4, 8 s."""
        out: dict[str, str | None] = {}
        if not self.dvc_remote and names:  # refs only: one push for them all
            groups = [names]
        else:
            groups = [[name] for name in names]
        for group in groups:
            name = " ".join(group)
            why: str | None = None
            for attempt in range(tries):
                if attempt:
                    time.sleep(2 ** attempt)
                why = self._push_outputs(name) if self.dvc_remote else None
                if why is None:
                    why = dvc_experiments.push_experiments("origin", group, None, self.path)
                    why = None if why is None else f"dvc exp push to {self.origin} failed: {why[-400:]}"
                if why is None:
                    break
                print(f"push of {name} failed ({why.splitlines()[0][:300]}); "
                      f"{'trying again' if attempt + 1 < tries else 'giving up'}", flush=True)
            out.update(dict.fromkeys(group, why))
        return out

    def _push_outputs(self, name: str) -> str | None:
        """The experiment's outputs to the DVC remote, checked there afterwards; why not, or None."""
        refs = [ref for ref in vcs.ref_names("refs/exps/", self.path) if ref.rsplit("/", 1)[-1] == name]
        if not refs:
            return f"no experiment {name} in the clone"
        try:
            with dvc_repo.quiet(), dvc_repo.opened(self.path) as repo:
                repo.push(remote=self.dvc_remote, revs=[refs[0]])
                # Checked, not assumed: a second push finds nothing left to send only when all arrived.
                left = repo.push(remote=self.dvc_remote, revs=[refs[0]])
        except Exception as exc:  # noqa: BLE001 - DVC lets botocore's errors through (EndpointConnectionError)
            return f"its outputs did not reach DVC remote {self.dvc_remote}: {first_line(exc, cause=True)}"
        if left:
            return f"{left} of its outputs were missing on DVC remote {self.dvc_remote} after the push"
        return None

    def remove(self) -> None:
        """End what still runs (an interrupted search: its experiments, then the workers); delete the clone."""
        if ex.live_workers(self.path):
            dvc_experiments.kill_queue(self.path)
            ex.stop_workers(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
        if self.git_config:
            remove_git_settings(self.git_config)


def pull_advice(why: str) -> str:
    """What to do about a failed `dvc pull` from a worker's DVC remote, from DVC's reason."""
    if any(word in why for word in ("403", "Forbidden", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                                    "Unable to locate credentials", "NoCredentialsError")):
        return ("the remote refused this worker's credentials: give it the right keys (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE)")
    if any(word in why for word in ("timed out", "Timeout", "Could not connect", "Connect", "Name or service")):
        return "the remote cannot be reached from this machine: check its URL or endpoint, and the network"
    return "`dvc push` the project's outputs there first"


def remove_dead(workdir: Path) -> None:
    """Clones in `workdir` left by workers of this machine that died (kill -9, an OOM kill): their DVC queue
    workers are stopped and the clone deleted. A clone's name ends with HOST-PID."""
    host = socket.gethostname()
    for path in workdir.glob(f"*-{host}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not path.is_dir() or not pid.isdigit() or alive(int(pid)):
            continue
        # As a stopped worker cleans up: its running experiments killed (they would write into the clone
        # again), then its queue workers, then the clone.
        Clone(path, path.name, git_config=workdir / f".{path.name}.gitconfig").remove()
        end_processes_in(path)  # an experiment the queue no longer knows of (its worker is gone) ends too
        shutil.rmtree(path, ignore_errors=True)
        print(f"removed {path.name}: the clone of a worker of this machine that is no longer running", flush=True)


def end_processes_in(folder: Path) -> None:
    """SIGKILL the processes (of this user) whose working directory lies in `folder` (Linux: /proc)."""
    inside = str(folder.resolve())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:  # ended, or another user's
            continue
        if cwd == inside or cwd.startswith(inside + os.sep):
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def host_of(url: str) -> str:
    """host:port of a URL (or the whole of an scp-like or path one)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] if parts.netloc else url
