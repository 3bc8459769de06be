"""Hyper-parameter search: Optuna (TPE, seeded) asks, DVC experiments run through the queue, Optuna is told.

    mlkit search --study svc --trials 20 --parallel 2 --metric valid.f1_macro --direction maximize \
        --space 'model.C=log:0.1:10' --space 'model.gamma=log:0.0001:1' --space 'model.kernel=choice:rbf,linear'

Each trial is a DVC experiment named STUDY-tNNN (the trial number). The study lives in an Optuna RDB storage
(`--storage`, default sqlite:///optuna.db), so several workers, on one machine or several, share it; the
trial budget is global. Each worker runs its experiments in a private git clone under .dvc/tmp/search/
(its own DVC queue, this repository's DVC cache) and pushes the finished ones back here with
`dvc exp push --no-cache origin`, so no worker runs another's queue entries and `dvc exp show` here
lists every trial.

A worker on another machine needs no copy of the project, only three URLs:

    mlkit search --git-remote URL --dvc-remote NAME|URL --storage postgresql+psycopg://... --study svc ...

It clones the git remote into a folder of its own (--workdir), `dvc pull`s from the DVC remote, runs its
trials the same way and pushes each finished one with `dvc exp push` (git refs to the git remote, outputs
to the DVC remote) before telling the study. Every worker records a heartbeat of its trials in the study's
database: a trial whose worker died (kill -9, a lost node) is failed once its heartbeat is stale, retried
with the same params, and its budget slot goes back to the pool.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import sqlalchemy as sa
import yaml
from optuna.trial import TrialState

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError, first_line, run_main
from mlkit.tools import queue as ex
from mlkit.tools.search_space import Dimension, check_metric, check_space, override, parse_dimension

METRICS_FILE = paths.EVAL_METRICS
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOG_TAIL = 15
POLL_SECONDS = 2.0
DVC_REMOTE = "mlkit-search"  # the name a worker gives a --dvc-remote URL in its clone's local config
# A trial's state in the study says how it ended; this user attribute says why a FAIL failed.
FAILURE = "fail_reason"
LOST = ("heartbeat", "interrupted")  # failures that give the trial's budget slot back


# ---------------------------------------------------------------- a worker's clone
@dataclass
class Clone:
    """A worker's private clone: its own DVC queue, the origin repository's DVC cache."""

    path: Path
    origin: Path | str
    dvc_remote: str | None = None  # a remote worker's: experiments push their outputs there

    @classmethod
    def create(cls, root: Path, study: str) -> Clone:
        from dvc.repo import Repo

        head = vcs.head(root)
        path = root / ".dvc" / "tmp" / "search" / f"{study}-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        vcs.git("clone", "-q", "--no-checkout", str(root), str(path), root=root)
        vcs.git("checkout", "-q", "--detach", head, root=path)
        with Repo(str(root)) as repo:
            cache = repo.cache.local_cache_dir
        vcs.dvc("cache", "dir", "--local", str(cache), root=path)
        return cls(path, root)

    @classmethod
    def from_remote(cls, url: str, dvc_remote: str, rev: str | None, workdir: Path, study: str) -> Clone:
        """A remote worker's clone: `git clone URL`, REV checked out (default: the remote's HEAD), the DVC
        remote (a name in the project's DVC config, or a URL added to the clone's local config), `dvc pull`."""
        path = workdir / f"{study}-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        done = vcs.run(["git", "clone", "-q", "--no-checkout", url, str(path)], workdir, check=False)
        if done.returncode != 0:
            raise PipelineError(f"--git-remote {url}: git clone failed: {first_line(Exception(done.stderr))}")
        clone = cls(path, url)
        try:
            target = rev or "origin/HEAD"
            found = vcs.run(["git", "rev-parse", "--verify", "-q", f"{target}^{{commit}}"], path, check=False)
            if found.returncode != 0:
                raise PipelineError(f"--rev {target}: no such commit, tag or branch in {url}")
            vcs.git("checkout", "-q", "--detach", found.stdout.strip(), root=path)
            names = vcs.dvc("remote", "list", root=path).stdout.split()[::2]
            if dvc_remote in names:
                clone.dvc_remote = dvc_remote
            else:
                vcs.dvc("remote", "add", "--local", "-f", DVC_REMOTE, dvc_remote, root=path)
                clone.dvc_remote = DVC_REMOTE
            pulled = vcs.dvc("pull", "-q", "-r", clone.dvc_remote, root=path, check=False)
            if pulled.returncode != 0:
                lines = [ln for ln in (pulled.stderr + pulled.stdout).splitlines() if ln.strip()]
                raise PipelineError(f"--dvc-remote {dvc_remote}: dvc pull failed ({lines[-1] if lines else ''}); "
                                    "`dvc push` the project's outputs there first")
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        return clone

    @property
    def commit(self) -> str:
        return vcs.head(self.path)
    def queue(self, name: str, overrides: list[str]) -> str | None:
        """Queue one experiment; the error text when DVC refuses it."""
        args = ["exp", "run", "--queue", "-n", name]
        for item in overrides:
            args += ["-S", item]
        done = vcs.dvc(*args, root=self.path, check=False)
        return None if done.returncode == 0 else (done.stderr or done.stdout).strip()

    def run_queue(self, names: list[str], jobs: int) -> None:
        """Run the named entries with the clone's own queue workers, which are stopped once they are done."""
        # The clone's queue is this worker's alone, and its entries are named: a name finds its task.
        revs = [entry["rev"] for entry in ex.queue_status(self.path) if entry["name"] in names]
        ex.wait(revs, jobs, self.path, poll=POLL_SECONDS, stop=True)

    def results(self, names: list[str], metric: str) -> dict[str, float | str]:
        """Name -> the metric's value, or why the experiment has none (a failed one's row holds the
        baseline's metrics: only State decides)."""
        import dvc.api

        rows = {row["Experiment"]: row for row in dvc.api.exp_show(repo=str(self.path)) if row.get("Experiment")}
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

    def push(self, names: list[str]) -> str | None:
        """Push finished experiments to origin; why not, if that failed. A remote worker's outputs go to its
        DVC remote; a local worker's are in the shared cache already, so only the experiment refs travel."""
        if not names:
            return None
        cache = ["-r", self.dvc_remote] if self.dvc_remote else ["--no-cache"]
        done = vcs.dvc("exp", "push", *cache, "origin", *names, root=self.path, check=False)
        if done.returncode == 0:
            return None
        lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        return f"dvc exp push to {self.origin} failed: {lines[-1][-400:] if lines else done.returncode}"

    def remove(self) -> None:
        """End what still runs (an interrupted search: its experiments, then the workers); delete the clone."""
        if ex.live_workers(self.path):
            vcs.dvc("queue", "stop", "--kill", root=self.path, check=False)
            ex.stop_workers(self.path)
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- the study and its budget
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

    def beat(self) -> None:
        for trial_id in list(self.trials.values()):
            self.storage.record_heartbeat(trial_id)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the database went away: the main loop says so
                pass


def open_study(args: argparse.Namespace, space: list[Dimension], lost_trial: Lost,
               attrs: dict[str, str] | None = None) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(5):  # workers started together race to create the tables
        try:
            storage = optuna.storages.RDBStorage(
                args.storage, heartbeat_interval=args.heartbeat, grace_period=3 * args.heartbeat,
                heartbeat_stale_trial_callback=lost_trial)
            study = optuna.create_study(study_name=args.study, storage=storage, direction=args.direction,
                                        sampler=optuna.samplers.TPESampler(seed=args.seed),
                                        load_if_exists=True)
            break
        except DB_ERRORS as exc:
            if attempt == 4:
                raise PipelineError(f"--storage {args.storage}: {first_line(exc, cause=True)}") from None
            time.sleep(0.5 + attempt)
        except (ValueError, ImportError, sa.exc.ArgumentError) as exc:
            raise PipelineError(f"--storage {args.storage}: {exc}") from None
    if study.direction.name.lower() != args.direction:
        raise PipelineError(f"study {args.study} in {args.storage} is set to {study.direction.name.lower()}, "
                            f"not {args.direction}")
    setup = {"metric": args.metric, "space": [f"{d.key}={d.spec}" for d in space], **(attrs or {})}
    for key, value in setup.items():
        stored = study.user_attrs.get(key)
        if stored is None:
            study.set_user_attr(key, value)
        elif stored != value:
            raise PipelineError(f"study {args.study} in {args.storage} was started with {key} {stored}, "
                                f"not {value}; use another --study name")
    return study, storage


# ---------------------------------------------------------------- the search


def recorded_commit(args: argparse.Namespace) -> str | None:
    """The commit a study's remote workers run (its user attribute `commit`), None for a new study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(5):  # workers started together race to create the tables
        try:
            return optuna.load_study(study_name=args.study, storage=args.storage).user_attrs.get("commit")
        except KeyError:  # no such study yet
            return None
        except DB_ERRORS as exc:
            if attempt == 4:
                raise PipelineError(f"--storage {args.storage}: {first_line(exc, cause=True)}") from None
            time.sleep(0.5 + attempt)
        except (ValueError, ImportError, sa.exc.ArgumentError) as exc:
            raise PipelineError(f"--storage {args.storage}: {exc}") from None
    return None


def existing_names(args: argparse.Namespace, root: Path) -> set[str]:
    """The experiment names already where this search's experiments go (here, or the git remote)."""
    if args.git_remote:
        done = vcs.run(["git", "ls-remote", args.git_remote, "refs/exps/*"], root, check=False)
        refs = [line.split()[-1] for line in done.stdout.splitlines() if line.strip()]
    else:
        refs = vcs.git("for-each-ref", "--format=%(refname)", "refs/exps", root=root).split()
    return {ref.rsplit("/", 1)[-1] for ref in refs}


def search(args: argparse.Namespace) -> None:
    # Heartbeats and their retry are experimental in Optuna 5 and meant for its optimize() loop; this tool
    # records them itself (Heartbeat, above).
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    check_metric(args.metric)
    space = [parse_dimension(text) for text in args.space]
    lost_trial = Lost()
    if args.git_remote:
        recorded = recorded_commit(args)
        workdir = Path(args.workdir or Path(tempfile.gettempdir()) / "mlkit-search").resolve()
        clone = Clone.from_remote(args.git_remote, args.dvc_remote, args.rev or recorded, workdir, args.study)
        root, attrs = clone.path, {"commit": clone.commit}
    else:
        root = Path(vcs.git("rev-parse", "--show-toplevel", root=Path.cwd()))
        attrs = {}
    try:
        base = yaml.safe_load(vcs.git("show", "HEAD:params.yaml", root=root)) or {}
        check_space(space, base)
        if not args.git_remote:
            ex.check_committed(root)
        study, storage = open_study(args, space, lost_trial, attrs)
        if not study.get_trials(deepcopy=False):
            # A new study would name its trials like the old ones there; their pushes would then be refused.
            clash = sorted(n for n in existing_names(args, root) if re.fullmatch(rf"{re.escape(args.study)}-t\d+", n))
            if clash:
                where = f"in {args.git_remote}" if args.git_remote else "here"
                raise PipelineError(
                    f"study {args.study} is new in {args.storage}, but experiments {', '.join(clash[:3])}"
                    f"{' ...' if len(clash) > 3 else ''} already exist {where}: "
                    f"choose another --study name, or `dvc exp remove {' '.join(clash[:3])} ...` first")
        if not args.git_remote:
            clone = Clone.create(root, args.study)
    except BaseException:
        if args.git_remote:
            clone.remove()
        raise
    try:
        mine = run_trials(args, study, storage, clone, base, space, lost_trial)
    except DB_ERRORS as exc:
        raise PipelineError(f"--storage {args.storage}: the study's database went away ({first_line(exc, cause=True)});"
                            " the trials finished before were pushed and told; those in flight are stopped") from None
    report(study, args, mine)


def run_trials(args: argparse.Namespace, study: optuna.Study, storage: optuna.storages.RDBStorage, clone: Clone,
               base: dict, space: list[Dimension], lost_trial: Lost) -> dict[int, bool]:
    """Take slots, ask, run, push, tell, until the budget is spent and no other worker's trial is in flight
    (one that dies is retried, so its slot may come back). Trial number -> completed, for this worker's."""
    budget = Budget(storage.engine, study, args.trials)
    lost_trial.budget = budget
    distributions = {d.key: d.distribution for d in space}
    worker = f"{socket.gethostname()}:{os.getpid()}"
    mine: dict[int, bool] = {}  # trial number -> completed
    batch: dict[str, optuna.Trial] = {}
    heartbeat = Heartbeat(storage, args.heartbeat)
    heartbeat.start()
    try:
        while True:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: FAIL, slot released, retried
            batch = {}
            for _ in range(args.parallel):
                slot = budget.take()
                if slot is None:
                    break
                # Re-seeded per slot: one worker's run is reproducible, and two workers never draw alike.
                study.sampler = optuna.samplers.TPESampler(seed=args.seed + slot)
                trial = study.ask(distributions)
                heartbeat.trials[trial.number] = trial._trial_id
                storage.record_heartbeat(trial._trial_id)
                name = f"{args.study}-t{trial.number:03d}"
                trial.set_user_attr("experiment", name)
                trial.set_user_attr("worker", worker)
                # Said now, as a finished trial takes no attributes: a trial that ends FAIL without being told
                # (its heartbeat went stale) keeps it; the tell of a failure replaces it with the reason.
                trial.set_user_attr(FAILURE, "heartbeat")
                overrides = [override(k, v, base) for k, v in trial.params.items()]
                print(f"trial {trial.number}: {name} {' '.join(overrides)}", flush=True)
                refused = clone.queue(name, overrides)
                if refused:
                    finish(study, trial, heartbeat, "experiment")
                    mine[trial.number] = False
                    print(f"trial {trial.number} FAILED: {name} could not be queued: {refused[-600:]}", flush=True)
                else:
                    batch[name] = trial
            if not batch:
                if not in_flight(study):
                    break
                time.sleep(POLL_SECONDS)  # others' trials run: if one is lost, its slot comes back
                continue
            clone.run_queue(list(batch), len(batch))
            results = clone.results(list(batch), args.metric)
            pushed = clone.push([name for name in batch if isinstance(results[name], float)])
            if pushed and args.git_remote:  # an experiment nobody can fetch is no result
                results = {n: v if not isinstance(v, float) else pushed for n, v in results.items()}
            elif pushed:
                print(f"warning: {pushed}", file=sys.stderr)
            for name, trial in batch.items():
                value = results[name]
                mine[trial.number] = isinstance(value, float)
                try:
                    if isinstance(value, float):
                        heartbeat.trials.pop(trial.number, None)
                        study.tell(trial, value)
                        print(f"trial {trial.number}: {name} {args.metric} = {value:.4f}", flush=True)
                    else:
                        finish(study, trial, heartbeat, "experiment")
                        print(f"trial {trial.number} FAILED: {name}: {value}", flush=True)
                except optuna.exceptions.UpdateFinishedTrialError:  # this worker's heartbeat stalled past the grace
                    mine[trial.number] = False
                    print(f"trial {trial.number}: {name} was failed by another worker (no heartbeat for "
                          f"{3 * args.heartbeat} s) and retried; its result is not counted", flush=True)
            batch = {}
    except BaseException:  # interrupted: the trials in flight are not left RUNNING in the study
        try:
            for trial in batch.values():
                if trial.number in heartbeat.trials:  # not told yet
                    finish(study, trial, heartbeat, "interrupted")
                    budget.release()
        except (*DB_ERRORS, optuna.exceptions.UpdateFinishedTrialError):  # gone, or failed by another worker
            pass
        if batch:
            print(f"interrupted: trials {', '.join(str(t.number) for t in batch.values())} told FAIL (lost: their "
                  "slots are free again); their experiments are stopped", file=sys.stderr)
        raise
    finally:
        heartbeat.stopped.set()
        clone.remove()
    return mine


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


def report(study: optuna.Study, args: argparse.Namespace, mine: dict[int, bool]) -> None:
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    gone = sum(lost(t) for t in trials)
    print(f"\nstudy {args.study} ({args.storage}): {len(trials)} trials, {count[TrialState.COMPLETE]} complete, "
          f"{count[TrialState.FAIL] - gone} failed, {gone} lost (retried), {count[TrialState.RUNNING]} running; "
          f"this worker ran {len(mine)} ({sum(mine.values())} complete)")
    if not count[TrialState.COMPLETE]:
        raise PipelineError(f"study {args.study}: every trial failed (see the log tails above)")
    best = study.best_trial
    name = best.user_attrs.get("experiment", "?")
    print(f"best: trial {best.number}, {args.metric} = {best.value:.4f} ({args.direction})")
    print("params: " + " ".join(f"{k}={v}" for k, v in best.params.items()))
    if args.git_remote:
        print(f"experiment: {name}   (dvc exp pull {args.git_remote} {name} && dvc exp apply {name})")
    else:
        print(f"experiment: {name}   (dvc exp apply {name})")
    if mine and not any(mine.values()):
        raise PipelineError(f"study {args.study}: every trial of this worker failed (see the log tails above)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlkit search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", required=True, help="study name; experiments are named STUDY-tNNN")
    parser.add_argument("--trials", type=int, required=True, help="trial budget of the whole study (all workers)")
    parser.add_argument("--parallel", type=int, default=1, help="experiments this worker runs at once")
    parser.add_argument("--metric", default="valid.f1_macro", help=f"a key of {METRICS_FILE}, never test.*")
    parser.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=KIND:ARGS",
                        help="float:LOW:HIGH | log:LOW:HIGH | int:LOW:HIGH | choice:A,B,...; repeat per key")
    parser.add_argument("--storage", default="sqlite:///optuna.db", help="an Optuna RDB (SQLAlchemy) URL")
    parser.add_argument("--seed", type=int, default=42, help="TPE's seed (trial slot k uses seed + k)")
    parser.add_argument("--heartbeat", type=int, default=30, metavar="SECONDS",
                        help="a trial's heartbeat interval; one silent for 3 intervals is failed and retried")
    remote = parser.add_argument_group("a worker on another machine (no local project needed)")
    remote.add_argument("--git-remote", metavar="URL", help="the project's git repository: clone it, push "
                        "experiments to it")
    remote.add_argument("--dvc-remote", metavar="NAME|URL", help="a DVC remote of the project, or a remote's URL: "
                        "pull the outputs from it, push each experiment's outputs to it")
    remote.add_argument("--rev", help="the commit to run (default: the study's, or else the remote's HEAD)")
    remote.add_argument("--workdir", metavar="DIR", help="where the clone goes (default: $TMPDIR/mlkit-search)")
    args = parser.parse_args(argv)
    if not STUDY_NAME.match(args.study):
        raise PipelineError(f"--study {args.study!r}: letters, digits, '_', '.', '-' only (it names experiments)")
    if args.trials < 1 or args.parallel < 1 or args.heartbeat < 1:
        raise PipelineError("--trials, --parallel and --heartbeat must be at least 1")
    if not args.space:
        raise PipelineError("--space: give at least one, e.g. --space 'model.C=log:0.1:10'")
    if bool(args.git_remote) != bool(args.dvc_remote):
        raise PipelineError("--git-remote and --dvc-remote go together (a worker on another machine needs both)")
    if not args.git_remote and (args.rev or args.workdir):
        raise PipelineError("--rev and --workdir are for a worker with --git-remote; here the search runs HEAD")
    if args.git_remote and args.storage.startswith("sqlite:"):
        raise PipelineError(f"--storage {args.storage}: workers on several machines need a database server they "
                            "all reach, e.g. postgresql+psycopg://USER@HOST/DB")
    return args


def main() -> None:
    # Stopped by SIGTERM as by Ctrl+C: trials in flight are told FAIL, the queue and the clone are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    search(parse_args())


if __name__ == "__main__":
    run_main(main)
