"""Hyper-parameter search: Optuna (TPE, seeded) asks, DVC experiments run through the queue, Optuna is told.

    mlkit search --study svc --trials 20 --parallel 2 --metric valid.f1_macro --direction maximize \
        --space 'model.C=log:0.1:10' --space 'model.gamma=log:0.0001:1' --space 'model.kernel=choice:rbf,linear'

Each trial is a DVC experiment named STUDY-tNNN (the trial number). The study lives in an Optuna RDB storage
(`--storage`, default sqlite:///optuna.db), so several workers, on one machine or several, share it; the
trial budget is global. Each worker runs its experiments in a private git clone under .dvc/tmp/search/
(its own DVC queue, this repository's DVC cache) and pushes the finished ones back here with
`dvc exp push --no-cache origin`, so no worker runs another's queue entries and `dvc exp show` here
lists every trial.
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
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy as sa
import yaml
from optuna.trial import TrialState

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError, run_main
from mlkit.tools import queue as ex
from mlkit.tools.search_space import Dimension, check_metric, check_space, override, parse_dimension

METRICS_FILE = paths.EVAL_METRICS
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOG_TAIL = 15
POLL_SECONDS = 2.0


# ---------------------------------------------------------------- a worker's clone
@dataclass
class Clone:
    """A worker's private clone: its own DVC queue, the origin repository's DVC cache."""

    path: Path
    origin: Path

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
        ex.wait(revs, jobs, self.path, poll=POLL_SECONDS, stop=True, report=lambda line: print(line, flush=True))

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

    def push(self, names: list[str]) -> None:
        if names:  # outputs are already in the shared cache: only the experiment refs travel
            done = vcs.dvc("exp", "push", "--no-cache", "origin", *names, root=self.path, check=False)
            if done.returncode != 0:
                print(f"warning: dvc exp push of {', '.join(names)} to {self.origin} failed: "
                      f"{done.stderr.strip()[-400:]}", file=sys.stderr)

    def remove(self) -> None:
        """End what still runs (an interrupted search: its experiments, then the workers); delete the clone."""
        if ex.live_workers(self.path):
            vcs.dvc("queue", "stop", "--kill", root=self.path, check=False)
            ex.stop_workers(self.path)
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- the study and its budget
BUDGET = sa.Table("mlkit_search_budget", sa.MetaData(),
                  sa.Column("study", sa.String(512), primary_key=True),
                  sa.Column("taken", sa.Integer, nullable=False))


class Budget:
    """A global trial budget: one atomic `UPDATE ... WHERE taken < N` per trial, in the study's own database."""

    def __init__(self, engine: sa.Engine, study: optuna.Study, total: int):
        self.engine, self.name, self.total = engine, study.study_name, total
        try:
            BUDGET.create(engine, checkfirst=True)
        except sa.exc.DatabaseError:  # another worker created it at the same moment
            pass
        try:  # a study begun elsewhere: its trials so far count
            with engine.begin() as conn:
                conn.execute(sa.insert(BUDGET).values(study=self.name, taken=len(study.get_trials(deepcopy=False))))
        except sa.exc.IntegrityError:
            pass

    def take(self) -> int | None:
        """The index of a trial slot this worker may start, or None when the budget is spent."""
        with self.engine.begin() as conn:
            row = BUDGET.c
            done = conn.execute(sa.update(BUDGET).where(row.study == self.name, row.taken < self.total)
                                .values(taken=row.taken + 1))
            if done.rowcount != 1:
                return None
            return conn.execute(sa.select(row.taken).where(row.study == self.name)).scalar_one() - 1


def open_study(args: argparse.Namespace, space: list[Dimension]) -> tuple[optuna.Study, sa.Engine]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(5):  # workers started together race to create the tables
        try:
            storage = optuna.storages.RDBStorage(args.storage)
            study = optuna.create_study(study_name=args.study, storage=storage, direction=args.direction,
                                        sampler=optuna.samplers.TPESampler(seed=args.seed),
                                        load_if_exists=True)
            break
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5 + attempt)
        except (ValueError, ImportError, sa.exc.ArgumentError) as exc:
            raise PipelineError(f"--storage {args.storage}: {exc}") from None
    if study.direction.name.lower() != args.direction:
        raise PipelineError(f"study {args.study} in {args.storage} is set to {study.direction.name.lower()}, "
                            f"not {args.direction}")
    setup = {"metric": args.metric, "space": [f"{d.key}={d.spec}" for d in space]}
    for key, value in setup.items():
        stored = study.user_attrs.get(key)
        if stored is None:
            study.set_user_attr(key, value)
        elif stored != value:
            raise PipelineError(f"study {args.study} in {args.storage} was started with {key} {stored}, "
                                f"not {value}; use another --study name")
    return study, storage.engine


# ---------------------------------------------------------------- the search
def search(args: argparse.Namespace) -> None:
    root = Path(vcs.git("rev-parse", "--show-toplevel", root=Path.cwd()))
    check_metric(args.metric)
    space = [parse_dimension(text) for text in args.space]
    base = yaml.safe_load(vcs.git("show", "HEAD:params.yaml", root=root)) or {}
    check_space(space, base)
    ex.check_committed(root)
    study, engine = open_study(args, space)
    if not study.get_trials(deepcopy=False):
        # A new study would name its trials like the old ones here; their pushes would then be refused.
        refs = vcs.git("for-each-ref", "--format=%(refname)", "refs/exps", root=root).split()
        names = {ref.rsplit("/", 1)[-1] for ref in refs}
        clash = sorted(n for n in names if re.fullmatch(rf"{re.escape(args.study)}-t\d+", n))
        if clash:
            raise PipelineError(f"study {args.study} is new in {args.storage}, but experiments {', '.join(clash[:3])}"
                                f"{' ...' if len(clash) > 3 else ''} already exist here: choose another --study "
                                f"name, or `dvc exp remove {' '.join(clash[:3])} ...` first")
    budget = Budget(engine, study, args.trials)
    distributions = {d.key: d.distribution for d in space}
    worker = f"{socket.gethostname()}:{os.getpid()}"
    mine: dict[int, bool] = {}  # trial number -> completed
    clone = Clone.create(root, args.study)
    batch: dict[str, optuna.Trial] = {}
    try:
        spent = False
        while not spent:
            batch = {}
            for _ in range(args.parallel):
                slot = budget.take()
                if slot is None:
                    spent = True
                    break
                # Re-seeded per slot: one worker's run is reproducible, and two workers never draw alike.
                study.sampler = optuna.samplers.TPESampler(seed=args.seed + slot)
                trial = study.ask(distributions)
                name = f"{args.study}-t{trial.number:03d}"
                trial.set_user_attr("experiment", name)
                trial.set_user_attr("worker", worker)
                overrides = [override(k, v, base) for k, v in trial.params.items()]
                print(f"trial {trial.number}: {name} {' '.join(overrides)}", flush=True)
                refused = clone.queue(name, overrides)
                if refused:
                    study.tell(trial, state=TrialState.FAIL)
                    mine[trial.number] = False
                    print(f"trial {trial.number} FAILED: {name} could not be queued: {refused[-600:]}", flush=True)
                else:
                    batch[name] = trial
            if not batch:
                continue
            clone.run_queue(list(batch), len(batch))
            results = clone.results(list(batch), args.metric)
            for name, trial in batch.items():
                value = results[name]
                mine[trial.number] = isinstance(value, float)
                if isinstance(value, float):
                    study.tell(trial, value)
                    print(f"trial {trial.number}: {name} {args.metric} = {value:.4f}", flush=True)
                else:
                    study.tell(trial, state=TrialState.FAIL)
                    print(f"trial {trial.number} FAILED: {name}: {value}", flush=True)
            clone.push([name for name, trial in batch.items() if mine[trial.number]])
    except BaseException:  # interrupted: the trials in flight are not left RUNNING in the study
        for trial in batch.values():
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        if batch:
            print(f"interrupted: trials {', '.join(str(t.number) for t in batch.values())} told FAIL; "
                  "their experiments are stopped", file=sys.stderr)
        raise
    finally:
        clone.remove()
    report(study, args, mine)


def report(study: optuna.Study, args: argparse.Namespace, mine: dict[int, bool]) -> None:
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    print(f"\nstudy {args.study} ({args.storage}): {len(trials)} trials, {count[TrialState.COMPLETE]} complete, "
          f"{count[TrialState.FAIL]} failed, {count[TrialState.RUNNING]} running; this worker ran {len(mine)} "
          f"({sum(mine.values())} complete)")
    if not count[TrialState.COMPLETE]:
        raise PipelineError(f"study {args.study}: every trial failed (see the log tails above)")
    best = study.best_trial
    name = best.user_attrs.get("experiment", "?")
    print(f"best: trial {best.number}, {args.metric} = {best.value:.4f} ({args.direction})")
    print("params: " + " ".join(f"{k}={v}" for k, v in best.params.items()))
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
    args = parser.parse_args(argv)
    if not STUDY_NAME.match(args.study):
        raise PipelineError(f"--study {args.study!r}: letters, digits, '_', '.', '-' only (it names experiments)")
    if args.trials < 1 or args.parallel < 1:
        raise PipelineError("--trials and --parallel must be at least 1")
    if not args.space:
        raise PipelineError("--space: give at least one, e.g. --space 'model.C=log:0.1:10'")
    return args


def main() -> None:
    # Stopped by SIGTERM as by Ctrl+C: trials in flight are told FAIL, the queue and the clone are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    search(parse_args())


if __name__ == "__main__":
    run_main(main)
