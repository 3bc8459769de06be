"""What `mlkit search` and `mlkit retrain --search-trials` are asked to do: one typed object, built by the
command line (mlkit/cli) or by retrain, checked before any work. Light on purpose: `mlkit --help` imports it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from mlkit.core.errors import PipelineError

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_STORAGE = "sqlite:///optuna.db"
Direction = Literal["maximize", "minimize"]
DIRECTIONS: tuple[Direction, ...] = ("maximize", "minimize")


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

    def __post_init__(self) -> None:
        if not STUDY_NAME.match(self.study):
            raise PipelineError(f"--study {self.study!r}: letters, digits, '_', '.', '-' only (it names experiments)")
        if self.trials < 1 or self.parallel < 1 or self.heartbeat < 1:
            raise PipelineError("--trials, --parallel and --heartbeat must be at least 1")
        if self.direction not in DIRECTIONS:
            raise PipelineError(f"--direction: {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        if not self.space:
            raise PipelineError("--space: give at least one, e.g. --space 'model.C=log:0.1:10'")
        if bool(self.git_remote) != bool(self.dvc_remote):
            raise PipelineError("--git-remote and --dvc-remote go together (a worker on another machine needs both)")
        if not self.git_remote and (self.rev or self.workdir):
            raise PipelineError("--rev and --workdir are for a worker with --git-remote; here the search runs HEAD")
        if self.git_remote and self.storage.startswith("sqlite:"):
            raise PipelineError(f"--storage {self.storage}: workers on several machines need a database server "
                                "they all reach, e.g. postgresql+psycopg://USER@HOST/DB")


@dataclass(frozen=True)
class RetrainOptions:
    """`mlkit retrain`: with `search_trials`, a search of that many trials over `space` runs first."""

    push: bool = False
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
