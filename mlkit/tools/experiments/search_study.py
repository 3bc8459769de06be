"""A search's study: Optuna's RDB storage with heartbeats, the global trial budget, lost trials (mlkit search)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna
import sqlalchemy as sa
from optuna.trial import TrialState

from mlkit.core.errors import PipelineError, first_line
from mlkit.tools.experiments.search_options import SearchOptions
from mlkit.tools.experiments.search_space import Dimension

T = TypeVar("T")

# A trial's state in the study says how it ended; this user attribute says why a FAIL failed.
FAILURE = "fail_reason"
# Failures that give the trial's budget slot back: its worker died or was stopped, or its experiment could
# not be published (pushed) and is retried.
LOST = ("heartbeat", "interrupted", "push")


# What a database that cannot be reached (or went away) raises, through SQLAlchemy or through Optuna.
DB_ERRORS = (sa.exc.DBAPIError, sa.exc.PendingRollbackError, optuna.exceptions.StorageInternalError)
BUDGET = sa.Table("mlkit_search_budget", sa.MetaData(),
                  sa.Column("study", sa.String(512), primary_key=True),
                  sa.Column("taken", sa.Integer, nullable=False))


def lost(trial: optuna.trial.FrozenTrial) -> bool:
    """A trial whose worker went away (killed, interrupted) before its experiment ended: it used no slot."""
    return trial.state == TrialState.FAIL and trial.user_attrs.get(FAILURE) in LOST


class Budget:
    """A global trial budget: one atomic `UPDATE ... WHERE taken < N` per trial, in the study's own database.

    A slot is given back (`release`) when its trial is lost: failed by its stale heartbeat, or interrupted.
    So the study ends with exactly N trials that ran to their end (COMPLETE, or FAIL by their experiment),
    plus one FAIL marked lost per worker that died or was stopped mid-trial."""

    def __init__(self, engine: sa.Engine, study: optuna.Study, total: int):
        self.engine, self.name, self.total = engine, study.study_name, total
        try:
            BUDGET.create(engine, checkfirst=True)
        except sa.exc.DatabaseError:  # another worker created it at the same moment
            pass
        try:  # a study begun elsewhere: its trials so far count, the lost ones excepted
            taken = sum(not lost(t) for t in study.get_trials(deepcopy=False))
            with engine.begin() as conn:
                conn.execute(sa.insert(BUDGET).values(study=self.name, taken=taken))
        except sa.exc.IntegrityError:
            pass

    def release(self) -> None:
        with self.engine.begin() as conn:
            row = BUDGET.c
            conn.execute(sa.update(BUDGET).where(row.study == self.name, row.taken > 0).values(taken=row.taken - 1))

    def take(self) -> int | None:
        """The index of a trial slot this worker may start, or None when the budget is spent."""
        with self.engine.begin() as conn:
            row = BUDGET.c
            done = conn.execute(sa.update(BUDGET).where(row.study == self.name, row.taken < self.total)
                                .values(taken=row.taken + 1))
            if done.rowcount != 1:
                return None
            return conn.execute(sa.select(row.taken).where(row.study == self.name)).scalar_one() - 1


@dataclass
class Lost:
    """The study's heartbeat_stale_trial_callback: run once per trial, by the worker that failed it
    (optuna.storages.fail_stale_trials). The trial's slot is released, and Optuna's
    RetryHeartbeatStaleTrialCallback (RetryFailedTrialCallback before 4.9) queues it again with the same
    params for the next worker's ask."""

    budget: Budget | None = None
    retry: optuna.storages.RetryHeartbeatStaleTrialCallback = field(
        default_factory=lambda: optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2))

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        print(f"trial {trial.number} FAILED: {trial.user_attrs.get('experiment', '?')}: its worker "
              f"{trial.user_attrs.get('worker', '?')} sent no heartbeat; retried with the same params", flush=True)
        if self.budget:
            self.budget.release()
        self.retry(study, trial)


class Heartbeat(threading.Thread):
    """Records a heartbeat for each trial in flight every `interval` seconds, as Optuna's optimize() does
    for its own trials (a trial asked with study.ask() has none). A database error is left to the main loop."""

    def __init__(self, storage: optuna.storages.RDBStorage, interval: int):
        super().__init__(daemon=True, name="mlkit-search-heartbeat")
        self.storage, self.interval = storage, interval
        self.trials: dict[int, int] = {}  # trial number -> trial id
        self.stopped = threading.Event()
        self.failing = False
        self.recovered = -math.inf  # when its beats came through again after a database outage

    def beat(self) -> None:
        for trial_id in list(self.trials.values()):
            self.storage.record_heartbeat(trial_id)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the database went away: the main loop says so
                self.failing = True
                continue
            if self.failing:
                self.failing, self.recovered = False, time.monotonic()


def engine_kwargs(url: str, timeout: float) -> dict[str, Any]:
    """SQLAlchemy engine options that bound every wait on the database: libpq's connect timeout, TCP
    keepalives and a user timeout (a server that goes silent mid-query), checked connections from the pool
    (a restarted server's old connections are replaced, not used)."""
    seconds = max(1, math.ceil(timeout))
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": seconds, "keepalives": 1, "keepalives_idle": seconds,
                                  "keepalives_interval": max(1, seconds // 3), "keepalives_count": 3,
                                  "tcp_user_timeout": seconds * 1000}
    elif url.startswith("mysql"):
        kwargs["connect_args"] = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    return kwargs


def host(url: str) -> str:
    """Where a database URL points: host:port, or its socket folder."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "?"
    where = parsed.host or str(parsed.query.get("host") or "localhost")
    return f"{where}:{parsed.port}" if parsed.port else where


def timed_out(exc: BaseException) -> bool:
    """A database error that is a timeout (a server that accepted and never answered)."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    kind = type(getattr(exc, "orig", exc)).__name__.lower()
    return "timeout expired" in text or "timed out" in text or "timeout" in kind


def storage_reason(options: SearchOptions, exc: BaseException) -> str:
    """Why the study's database failed, in a few words (its host and the timeout, for a timeout)."""
    if timed_out(exc):
        return f"no answer from {host(options.storage)} within {options.timeout:g} s (--timeout)"
    return first_line(exc, cause=True)


def storage_error(options: SearchOptions, exc: BaseException) -> PipelineError:
    return PipelineError(f"--storage {options.storage_shown}: {storage_reason(options, exc)}")


def with_retries(options: SearchOptions, action: Callable[[], T]) -> T:
    """`action` on the study's database, retried a few times: workers started together race to create the
    tables. A database that keeps failing or does not answer in time, or a URL that cannot work, is one
    PipelineError."""
    for attempt in range(5):
        try:
            return action()
        except DB_ERRORS as exc:
            if attempt == 4 or timed_out(exc):
                raise storage_error(options, exc) from None
            time.sleep(0.5 + attempt)
        except (ValueError, ImportError, sa.exc.ArgumentError) as exc:
            raise PipelineError(f"--storage {options.storage_shown}: {exc}") from None
    raise AssertionError("unreachable: the last attempt returns or raises")


class Patient:
    """Runs a database call through an outage: a failed call is retried with backoff (1, 2, 4 ... 30 s)
    for up to `outage` seconds, saying once that it waits and once that the database is back."""

    def __init__(self, options: SearchOptions):
        self.options = options
        self.recovered = -math.inf  # when the last outage ended (time.monotonic())

    def __call__(self, action: Callable[[], T]) -> T:
        started, delay, said = time.monotonic(), 1.0, False
        while True:
            try:
                done = action()
            except DB_ERRORS as exc:
                waited = time.monotonic() - started
                if waited + delay > self.options.outage:
                    raise
                if not said:
                    print(f"database {host(self.options.storage)} unreachable ({first_line(exc, cause=True)}); "
                          f"reconnecting for up to {self.options.outage:g} s (--outage)", flush=True)
                    said = True
                time.sleep(delay)
                delay = min(2 * delay, 30.0)
                continue
            if said:
                self.recovered = time.monotonic()
                print(f"database {host(self.options.storage)} back after {time.monotonic() - started:.0f} s",
                      flush=True)
            return done


def make_storage(options: SearchOptions, lost_trial: Lost | None = None) -> optuna.storages.RDBStorage:
    """The study's storage, every call to it bounded by --timeout."""
    kwargs: dict[str, Any] = {}
    if lost_trial is not None:
        kwargs = {"heartbeat_interval": options.heartbeat, "grace_period": 3 * options.heartbeat,
                  "heartbeat_stale_trial_callback": lost_trial}
    return optuna.storages.RDBStorage(options.storage, engine_kwargs=engine_kwargs(options.storage, options.timeout),
                                      **kwargs)


def no_sql_dumps(record: logging.LogRecord) -> bool:
    """Optuna's storage logs a failed query with its SQL over several lines before it tries a slower one; a
    database that went away fails that too, and Patient says so in one line."""
    return not record.getMessage().startswith("Caught an error from sqlalchemy")


def open_study(options: SearchOptions, space: list[Dimension], lost_trial: Lost,
               attrs: dict[str, str] | None = None) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logger = logging.getLogger("optuna.storages._rdb.storage")
    if no_sql_dumps not in logger.filters:
        logger.addFilter(no_sql_dumps)

    def create() -> tuple[optuna.Study, optuna.storages.RDBStorage]:
        storage = make_storage(options, lost_trial)
        return optuna.create_study(study_name=options.study, storage=storage, direction=options.direction,
                                   sampler=optuna.samplers.TPESampler(seed=options.seed), load_if_exists=True), storage

    study, storage = with_retries(options, create)
    if study.direction.name.lower() != options.direction:
        raise PipelineError(f"study {options.study} in {options.storage_shown} is set to "
                            f"{study.direction.name.lower()}, not {options.direction}")
    setup = {"metric": options.metric, "space": [f"{d.key}={d.spec}" for d in space], **(attrs or {})}
    if options.grid:  # a grid and a TPE search never share a study (a TPE study has no such attribute)
        setup["sampler"] = "grid"
    for key, value in setup.items():
        stored = study.user_attrs.get(key)
        if stored is None:
            study.set_user_attr(key, value)
        elif stored != value:
            raise PipelineError(f"study {options.study} in {options.storage_shown} was started with {key} {stored}, "
                                f"not {value}; use another --study name")
    return study, storage


def recorded_commit(options: SearchOptions) -> str | None:
    """The commit a study's remote workers run (its user attribute `commit`), None for a new study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def load() -> str | None:
        try:
            return optuna.load_study(study_name=options.study, storage=make_storage(options)).user_attrs.get("commit")
        except KeyError:  # no such study yet
            return None

    return with_retries(options, load)


def finish(study: optuna.Study, trial: optuna.Trial, heartbeat: Heartbeat, why: str) -> None:
    """Tell a trial FAIL, saying why (`experiment`: it counts against the budget; LOST: it does not)."""
    heartbeat.trials.pop(trial.number, None)
    trial.set_user_attr(FAILURE, why)
    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def in_flight(study: optuna.Study) -> bool:
    """Whether trials with a heartbeat are running (this tool's since it records them: a RUNNING trial of an
    older version, killed, would never go stale)."""
    return any(t.user_attrs.get(FAILURE) == "heartbeat"
               for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
