"""Hyper-parameter search: Optuna (TPE, seeded) asks, DVC experiments run through the queue, Optuna is told.

    mlkit search --study linear --trials 20 --parallel 2 --metric valid.f1_macro --direction maximize \
        --space 'model.C=log:0.01:10' --space 'features.min_df=int:1:5' \
        --space 'model.class_weight=choice:null,balanced'

Each trial is a DVC experiment named STUDY-tNNN (the trial number). The study lives in an Optuna RDB storage
(`--storage`, default sqlite:///optuna.db), so several workers, on one machine or several, share it; the
trial budget is global. Each worker runs its experiments in a private git clone under .dvc/tmp/search/
(its own DVC queue, this repository's DVC cache) and pushes the finished ones back here with
`dvc exp push --no-cache origin`, so no worker runs another's queue entries and `dvc exp show` here
lists every trial.

A worker on another machine needs no copy of the project, only three URLs:

    mlkit search --git-remote URL --dvc-remote NAME|URL --storage postgresql+psycopg://... --study svc ...

It clones the git remote into a folder of its own (--workdir), `dvc pull`s from the DVC remote, runs its
trials the same way and publishes each finished one before telling the study: its outputs to the DVC remote
first, checked there, and only then its ref to the git remote (an experiment listed there can always be
applied); a push that keeps failing gives the trial back, to be retried with the same params. URLs with a
password or token come from the environment or a file (MLKIT_STORAGE, MLKIT_GIT_REMOTE, --storage-file,
--git-remote-file) and are shown masked; every network call has a timeout (--timeout), and a database outage
is waited through, reconnecting with backoff, for up to --outage seconds.

Every worker records a heartbeat of its trials in the study's
database: a trial whose worker died (kill -9, a lost node) is failed once its heartbeat is stale, retried
with the same params, and its budget slot goes back to the pool.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import optuna
import yaml
from optuna.trial import TrialState

from mlkit.core import vcs
from mlkit.core.devices import use_gpus
from mlkit.core.errors import PipelineError
from mlkit.tools.experiments import queue as ex
from mlkit.tools.experiments.search_clone import POLL_SECONDS, Clone
from mlkit.tools.experiments.search_options import SearchOptions, mask
from mlkit.tools.experiments.search_space import (
    Dimension,
    check_metric,
    check_space,
    override,
    parse_dimension,
    resolve_metric,
    value_text,
)
from mlkit.tools.experiments.search_study import (
    DB_ERRORS,
    FAILURE,
    Budget,
    Heartbeat,
    Lost,
    Patient,
    finish,
    in_flight,
    lost,
    open_study,
    recorded_commit,
    storage_reason,
)

# ---------------------------------------------------------------- the search


def existing_names(options: SearchOptions, root: Path) -> set[str]:
    """The experiment names already where this search's experiments go (here, or the git remote)."""
    if options.git_remote:
        refs = vcs.remote_ref_names(options.git_remote, "refs/exps/", root)
    else:
        refs = vcs.ref_names("refs/exps/", root)
    return {ref.rsplit("/", 1)[-1] for ref in refs}


def search(options: SearchOptions) -> None:
    # Heartbeats and their retry are experimental in Optuna 5 and meant for its optimize() loop; this tool
    # records them itself (Heartbeat, above).
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    if options.gpus is not None:
        use_gpus(options.gpus, options.parallel, "--parallel")
    if options.metric is not None:
        check_metric(options.metric)
    space = [parse_dimension(text) for text in options.space]
    if options.grid:
        size = math.prod(len(values) for values in grid_points(space).values())
        if options.trials > size:
            raise PipelineError(f"--trials {options.trials}: the grid has {size} points; give --trials {size}")
    lost_trial = Lost()
    if options.git_remote and options.dvc_remote:  # SearchOptions: both or neither
        recorded = recorded_commit(options)
        workdir = Path(options.workdir or Path(tempfile.gettempdir()) / "mlkit-search").resolve()
        clone = Clone.from_remote(options.git_remote, options.dvc_remote, options.rev or recorded, workdir,
                                  options.study, options.timeout)
        root, attrs = clone.path, {"commit": clone.commit}
    else:
        root = vcs.toplevel(Path.cwd())
        attrs = {}
    try:
        base = yaml.safe_load(vcs.read_at("HEAD", "params.yaml", root)) or {}
        metric = resolve_metric(options.metric, base)
        check_metric(metric)
        options = replace(options, metric=metric)
        check_space(space, base)
        if not options.git_remote:
            ex.check_committed(root)
        study, storage = open_study(options, space, lost_trial, attrs)
        if not study.get_trials(deepcopy=False):
            # A new study would name its trials like the old ones there; their pushes would then be refused.
            trial_name = re.compile(rf"{re.escape(options.study)}-t\d+")
            clash = sorted(n for n in existing_names(options, root) if trial_name.fullmatch(n))
            if clash:
                where = f"in {options.git_shown}" if options.git_remote else "here"
                raise PipelineError(
                    f"study {options.study} is new in {options.storage_shown}, but experiments {', '.join(clash[:3])}"
                    f"{' ...' if len(clash) > 3 else ''} already exist {where}: "
                    f"choose another --study name, or `dvc exp remove {' '.join(clash[:3])} ...` first")
        if not options.git_remote:
            clone = Clone.create(root, options.study)
    except BaseException:
        if options.git_remote:
            clone.remove()
        raise
    try:
        mine = run_trials(options, study, storage, clone, base, space, lost_trial)
    except DB_ERRORS as exc:
        raise PipelineError(f"--storage {options.storage_shown}: the study's database went away for over "
                            f"{options.outage:g} s (--outage) ({storage_reason(options, exc)}); the trials finished "
                            "before were pushed and told; those in flight are stopped, and another worker "
                            "retries them once their heartbeat is stale") from None
    report(study, options, mine)


class Grid(optuna.samplers.GridSampler):
    """Optuna's GridSampler without its end-of-grid stop: it calls study.stop(), which only works inside
    optimize() (a RuntimeError after study.tell()); the trial budget ends this search instead."""

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        pass


def grid_points(space: list[Dimension]) -> dict[str, list]:
    """--grid: each key's choices, for Optuna's GridSampler, which hands every worker a point not yet run."""
    ranged = [d.spec for d in space if not isinstance(d.distribution, optuna.distributions.CategoricalDistribution)]
    if ranged:
        raise PipelineError(f"--grid: every --space must be a choice:A,B,... (not {', '.join(ranged)})")
    return {d.key: list(d.distribution.choices) for d in space}  # type: ignore[attr-defined]


def run_trials(options: SearchOptions, study: optuna.Study, storage: optuna.storages.RDBStorage, clone: Clone,
               base: dict, space: list[Dimension], lost_trial: Lost) -> dict[int, bool]:
    """Take slots, ask, run, push, tell, until the budget is spent and no other worker's trial is in flight
    (one that dies is retried, so its slot may come back). Trial number -> completed, for this worker's."""
    budget = Budget(storage.engine, study, options.trials)
    lost_trial.budget = budget
    distributions = {d.key: d.distribution for d in space}
    grid = grid_points(space) if options.grid else None
    worker = f"{socket.gethostname()}:{os.getpid()}"
    mine: dict[int, bool] = {}  # trial number -> completed
    batch: dict[str, optuna.Trial] = {}
    heartbeat = Heartbeat(storage, options.heartbeat)
    heartbeat.start()
    db = Patient(options)  # every call to the database below waits through an outage of up to --outage s
    try:
        while True:
            # A dead worker's trial: FAIL, slot released, retried. Not right after an outage: the live
            # workers' heartbeats are stale too until their next beat.
            if time.monotonic() - max(db.recovered, heartbeat.recovered) > options.heartbeat + 1:
                db(lambda: optuna.storages.fail_stale_trials(study))
            batch = {}
            for _ in range(options.parallel):
                slot = db(budget.take)
                if slot is None:
                    break
                # Re-seeded per slot: one worker's run is reproducible, and two workers never draw alike.
                study.sampler = (Grid(grid, seed=options.seed + slot) if grid
                                 else optuna.samplers.TPESampler(seed=options.seed + slot))
                trial = db(lambda: study.ask(distributions))
                heartbeat.trials[trial.number] = trial._trial_id
                name = f"{options.study}-t{trial.number:03d}"
                # Said now, as a finished trial takes no attributes: a trial that ends FAIL without being told
                # (its heartbeat went stale) keeps FAILURE; the tell of a failure replaces it with the reason.
                attrs = {"experiment": name, "worker": worker, FAILURE: "heartbeat"}
                db(lambda: storage.record_heartbeat(trial._trial_id))  # noqa: B023 - called at once
                for key, value in attrs.items():
                    db(lambda: trial.set_user_attr(key, value))  # noqa: B023 - called at once
                overrides = [override(k, v, base) for k, v in trial.params.items()]
                print(f"trial {trial.number}: {name} {' '.join(overrides)}", flush=True)
                refused = clone.queue(name, overrides)
                if refused:
                    db(lambda: finish(study, trial, heartbeat, "experiment"))  # noqa: B023 - called at once
                    mine[trial.number] = False
                    print(f"trial {trial.number} FAILED: {name} could not be queued: {refused[-600:]}", flush=True)
                else:
                    batch[name] = trial
            if not batch:
                if not db(lambda: in_flight(study)):
                    break
                time.sleep(POLL_SECONDS)  # others' trials run: if one is lost, its slot comes back
                continue
            clone.run_queue(list(batch), len(batch))
            results = clone.results(list(batch), str(options.metric))  # resolved in search()
            pushed = clone.push([name for name in batch if isinstance(results[name], float)])
            for name, trial in batch.items():
                tell(options, study, trial, name, results[name], pushed.get(name), heartbeat, db, budget,
                     lost_trial, mine)
            batch = {}
    except BaseException:  # interrupted: the trials in flight are not left RUNNING in the study
        told, left = [], []
        for trial in batch.values():
            if trial.number not in heartbeat.trials:  # told already
                continue
            try:
                finish(study, trial, heartbeat, "interrupted")
                budget.release()
                told.append(str(trial.number))
            except (*DB_ERRORS, optuna.exceptions.UpdateFinishedTrialError):  # gone, or failed by another worker
                left.append(str(trial.number))
        if told:
            print(f"interrupted: trials {', '.join(told)} told FAIL (lost: their slots are free again); their "
                  "experiments are stopped", file=sys.stderr)
        if left:
            print(f"interrupted: trials {', '.join(left)} could not be told (the database is away): they stay "
                  f"RUNNING until another worker finds their heartbeat stale ({3 * options.heartbeat} s), fails "
                  "and retries them; their experiments are stopped", file=sys.stderr)
        raise
    finally:
        heartbeat.stopped.set()
        clone.remove()
    return mine


def tell(options: SearchOptions, study: optuna.Study, trial: optuna.Trial, name: str, value: float | str,
         unpushed: str | None, heartbeat: Heartbeat, db: Patient, budget: Budget, lost_trial: Lost,
         mine: dict[int, bool]) -> None:
    """Tell the study how a trial ended: its value once its experiment is published; FAIL with the reason
    when the experiment failed; given back and retried (same params) when it could not be published."""
    try:
        if isinstance(value, float) and unpushed and options.git_remote:  # an experiment nobody can fetch
            mine[trial.number] = False
            db(lambda: finish(study, trial, heartbeat, "push"))
            db(budget.release)
            frozen = db(lambda: study._storage.get_trial(trial._trial_id))
            db(lambda: lost_trial.retry(study, frozen))
            print(f"trial {trial.number} FAILED: {name}: {unpushed}; nothing of it is on the git remote; its slot "
                  "is free again and it is retried with the same params", flush=True)
        elif isinstance(value, float):
            if unpushed:  # a local search: the experiment is in this repository's clone only
                print(f"warning: {unpushed}", file=sys.stderr)
            mine[trial.number] = True
            heartbeat.trials.pop(trial.number, None)
            db(lambda: study.tell(trial, value))
            print(f"trial {trial.number}: {name} {options.metric} = {value:.4f}", flush=True)
        else:
            mine[trial.number] = False
            db(lambda: finish(study, trial, heartbeat, "experiment"))
            print(f"trial {trial.number} FAILED: {name}: {value}", flush=True)
    except optuna.exceptions.UpdateFinishedTrialError:  # this worker's heartbeat stalled past the grace
        mine[trial.number] = False
        print(f"trial {trial.number}: {name} was failed by another worker (no heartbeat for "
              f"{3 * options.heartbeat} s) and retried; its result is not counted", flush=True)


def report(study: optuna.Study, options: SearchOptions, mine: dict[int, bool]) -> None:
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    gone = sum(lost(t) for t in trials)
    print(f"\nstudy {options.study} ({options.storage_shown}): {len(trials)} trials, "
          f"{count[TrialState.COMPLETE]} complete, "
          f"{count[TrialState.FAIL] - gone} failed, {gone} lost (retried), {count[TrialState.RUNNING]} running; "
          f"this worker ran {len(mine)} ({sum(mine.values())} complete)")
    if not count[TrialState.COMPLETE]:
        raise PipelineError(f"study {options.study}: every trial failed (see the log tails above)")
    best = study.best_trial
    name = best.user_attrs.get("experiment", "?")
    print(f"best: trial {best.number}, {options.metric} = {best.value:.4f} ({options.direction})")
    print("params: " + " ".join(f"{k}={value_text(v)}" for k, v in best.params.items()))
    if options.git_remote:
        print(f"experiment: {name}   (dvc exp pull {options.git_shown} {name} && dvc exp apply {name})")
    else:
        print(f"experiment: {name}   (dvc exp apply {name})")
    if mine and not any(mine.values()):
        raise PipelineError(f"study {options.study}: every trial of this worker failed (see the log tails above)")


def run(options: SearchOptions) -> None:
    """The command: `search`, stopped by SIGTERM as by Ctrl+C (trials in flight are told FAIL, the queue and
    the clone are cleaned up)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    secrets = options.secrets
    if secrets:  # whatever a library, git or DVC says, a credential is never printed
        sys.stdout, sys.stderr = Masked(sys.stdout, secrets), Masked(sys.stderr, secrets)
    try:
        search(options)
    except PipelineError as exc:
        raise type(exc)(mask(str(exc), secrets)) from None


class Masked:
    """A text stream that masks the given secrets in everything written to it."""

    def __init__(self, stream: TextIO, secrets: list[str]):
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        return self.stream.write(mask(text, self.secrets))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
