"""What `mlkit search` and `mlkit retrain --search-trials` are asked to do: one typed object, built by the
command line (mlkit/cli) or by retrain, checked before any work. Light on purpose: `mlkit --help` imports it."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from mlkit.core.errors import PipelineError

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_STORAGE = "sqlite:///optuna.db"
Direction = Literal["maximize", "minimize"]
DIRECTIONS: tuple[Direction, ...] = ("maximize", "minimize")
# Where a worker finds the URLs that carry credentials when they are not on its command line (`ps` shows
# every local user a command line; a process's environment only to its owner).
STORAGE_ENV = "MLKIT_STORAGE"
GIT_REMOTE_ENV = "MLKIT_GIT_REMOTE"
TIMEOUT_ENV = "MLKIT_NETWORK_TIMEOUT"
OUTAGE_ENV = "MLKIT_DB_OUTAGE"
MASK = "***"


# ---------------------------------------------------------------- credentials: never shown
def shown_storage(url: str) -> str:
    """A database URL as it may be printed: the password masked (SQLAlchemy's own rendering)."""
    from sqlalchemy.engine import make_url  # here: `mlkit --help` imports this module

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: mask anything between ':' and '@'
        return re.sub(r"(//[^/:@]*:)[^@/]*@", rf"\1{MASK}@", url)
    if "password" in parsed.query:  # libpq also takes ?password=...
        parsed = parsed.update_query_dict({"password": MASK})
    return parsed.render_as_string(hide_password=True)


def split_git_url(url: str) -> tuple[str, str | None, str | None]:
    """An http(s) git URL without its user and token, the user, the token (both None when it has none).
    `https://TOKEN@host/...` (a token as the user name) gives the token as the user."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, token = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), user or None, token or None


def shown_git(url: str) -> str:
    """A git URL as it may be printed: user:TOKEN@ -> user:***@, TOKEN@ -> ***@ (http(s); an ssh user name
    is no secret)."""
    bare, user, token = split_git_url(url)
    if user is None:
        return url
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc=f"{f'{user}:{MASK}' if token else MASK}@{parts.netloc}"))


def secrets_in(storage: str, git_remote: str | None) -> list[str]:
    """The credentials these URLs carry, to be masked wherever they would be printed."""
    from sqlalchemy.engine import make_url

    found: list[str | None] = []
    try:
        parsed = make_url(storage)
        in_query = parsed.query.get("password")
        found += [parsed.password if isinstance(parsed.password, str) else None,
                  in_query if isinstance(in_query, str) else None]
    except Exception:  # noqa: BLE001 - an unreadable URL is refused later; nothing to find in it
        pass
    if git_remote:
        _, user, token = split_git_url(git_remote)
        found += [token or user]
    return sorted({s for s in found if isinstance(s, str) and len(s) >= 3}, key=len, reverse=True)


def mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def read_secret_file(path: str, option: str) -> str:
    """The first line of a file holding a URL with credentials, which only its owner may read."""
    file = Path(path).expanduser()
    try:
        mode = file.stat().st_mode
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(f"{option} {path}: {exc.strerror or exc}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise PipelineError(f"{option} {path}: readable by others (mode {stat.S_IMODE(mode):o}): it holds a "
                            f"credential; `chmod 600 {path}`")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise PipelineError(f"{option} {path}: empty (one line: the URL)")
    return lines[0]


def env_seconds(name: str, default: float) -> float:
    """A number of seconds from the environment (a default a site sets once), else `default`."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise PipelineError(f"{name}={raw!r}: not a number of seconds") from None


@dataclass(frozen=True)
class SearchOptions:
    """One worker's search. `metric` None: valid.METRIC for params.yaml's compare.metric (resolved at start)."""

    study: str
    trials: int
    space: list[str] = field(default_factory=list)
    parallel: int = 1
    metric: str | None = None
    direction: Direction = "maximize"
    storage: str = DEFAULT_STORAGE
    seed: int = 42
    gpus: str | None = None
    heartbeat: int = 30
    git_remote: str | None = None
    dvc_remote: str | None = None
    rev: str | None = None
    workdir: str | None = None
    timeout: float = 30.0  # connect and read timeout of every network call (database, git, S3)
    outage: float = 300.0  # how long a worker waits through a database outage before it gives up
    grid: bool = False  # every point of a grid of choices once (Optuna's GridSampler), instead of TPE

    @property
    def storage_shown(self) -> str:
        return shown_storage(self.storage)

    @property
    def git_shown(self) -> str:
        return shown_git(self.git_remote) if self.git_remote else ""

    @property
    def secrets(self) -> list[str]:
        return secrets_in(self.storage, self.git_remote)

    def __post_init__(self) -> None:
        if not STUDY_NAME.match(self.study):
            raise PipelineError(f"--study {self.study!r}: letters, digits, '_', '.', '-' only (it names experiments)")
        if self.trials < 1 or self.parallel < 1 or self.heartbeat < 1:
            raise PipelineError("--trials, --parallel and --heartbeat must be at least 1")
        if self.timeout <= 0 or self.outage < 0:
            raise PipelineError("--timeout must be positive and --outage at least 0")
        if self.direction not in DIRECTIONS:
            raise PipelineError(f"--direction: {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        if not self.space:
            raise PipelineError("--space: give at least one, e.g. --space 'model.C=log:0.1:10'")
        if bool(self.git_remote) != bool(self.dvc_remote):
            raise PipelineError("--git-remote and --dvc-remote go together (a worker on another machine needs both)")
        if not self.git_remote and (self.rev or self.workdir):
            raise PipelineError("--rev and --workdir are for a worker with --git-remote; here the search runs HEAD")
        if self.git_remote and self.storage.startswith("sqlite:"):
            raise PipelineError(f"--storage {self.storage_shown}: workers on several machines need a database server "
                                "they all reach, e.g. postgresql+psycopg://USER@HOST/DB")


@dataclass(frozen=True)
class RetrainOptions:
    """`mlkit retrain`: with `search_trials`, a search of that many trials over `space` runs first."""

    push: bool = False
    check: bool = False  # say whether the project is ready, change nothing
    fresh_runner: bool = False  # the machine is discarded after the run (a CI runner): a folder remote is no remote
    search_trials: int | None = None
    space: list[str] = field(default_factory=list)
    metric: str | None = None
    direction: Direction = "maximize"
    storage: str = DEFAULT_STORAGE

    def __post_init__(self) -> None:
        if self.search_trials is not None:
            if self.search_trials < 1:
                raise PipelineError("--search-trials must be at least 1")
            if not self.space:
                raise PipelineError("--search-trials needs --space, e.g. --space 'model.C=log:0.1:10'")
        elif self.space:
            raise PipelineError("--space is for the search: give --search-trials N too")
        if self.direction not in DIRECTIONS:
            raise PipelineError(f"--direction: {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
