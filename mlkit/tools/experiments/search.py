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
trials the same way and pushes each finished one with `dvc exp push` (git refs to the git remote, outputs
to the DVC remote) before telling the study. Every worker records a heartbeat of its trials in the study's
database: a trial whose worker died (kill -9, a lost node) is failed once its heartbeat is stale, retried
with the same params, and its budget slot goes back to the pool.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from mlkit.core import vcs
from mlkit.core.devices import use_gpus
from mlkit.core.errors import PipelineError, first_line
from mlkit.tools.experiments import queue as ex
from mlkit.tools.experiments.search_clone import POLL_SECONDS, Clone
from mlkit.tools.experiments.search_options import SearchOptions
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
    finish,
    in_flight,
    lost,
    open_study,
    recorded_commit,
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
    lost_trial = Lost()
    if options.git_remote and options.dvc_remote:  # SearchOptions: both or neither
        recorded = recorded_commit(options)
        workdir = Path(options.workdir or Path(tempfile.gettempdir()) / "mlkit-search").resolve()
        clone = Clone.from_remote(options.git_remote, options.dvc_remote, options.rev or recorded, workdir,
                                  options.study)
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
                where = f"in {options.git_remote}" if options.git_remote else "here"
                raise PipelineError(
                    f"study {options.study} is new in {options.storage}, but experiments {', '.join(clash[:3])}"
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
        raise PipelineError(f"--storage {options.storage}: the study's database went away "
                            f"({first_line(exc, cause=True)}); the trials finished before were pushed and told; "
                            "those in flight are stopped") from None
    report(study, options, mine)


def run_trials(options: SearchOptions, study: optuna.Study, storage: optuna.storages.RDBStorage, clone: Clone,
               base: dict, space: list[Dimension], lost_trial: Lost) -> dict[int, bool]:
    """Take slots, ask, run, push, tell, until the budget is spent and no other worker's trial is in flight
    (one that dies is retried, so its slot may come back). Trial number -> completed, for this worker's."""
    budget = Budget(storage.engine, study, options.trials)
    lost_trial.budget = budget
    distributions = {d.key: d.distribution for d in space}
    worker = f"{socket.gethostname()}:{os.getpid()}"
    mine: dict[int, bool] = {}  # trial number -> completed
    batch: dict[str, optuna.Trial] = {}
    heartbeat = Heartbeat(storage, options.heartbeat)
    heartbeat.start()
    try:
        while True:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: FAIL, slot released, retried
            batch = {}
            for _ in range(options.parallel):
                slot = budget.take()
                if slot is None:
                    break
                # Re-seeded per slot: one worker's run is reproducible, and two workers never draw alike.
                study.sampler = optuna.samplers.TPESampler(seed=options.seed + slot)
                trial = study.ask(distributions)
                heartbeat.trials[trial.number] = trial._trial_id
                storage.record_heartbeat(trial._trial_id)
                name = f"{options.study}-t{trial.number:03d}"
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
            results = clone.results(list(batch), str(options.metric))  # resolved in search()
            pushed = clone.push([name for name in batch if isinstance(results[name], float)])
            if pushed and options.git_remote:  # an experiment nobody can fetch is no result
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
                        print(f"trial {trial.number}: {name} {options.metric} = {value:.4f}", flush=True)
                    else:
                        finish(study, trial, heartbeat, "experiment")
                        print(f"trial {trial.number} FAILED: {name}: {value}", flush=True)
                except optuna.exceptions.UpdateFinishedTrialError:  # this worker's heartbeat stalled past the grace
                    mine[trial.number] = False
                    print(f"trial {trial.number}: {name} was failed by another worker (no heartbeat for "
                          f"{3 * options.heartbeat} s) and retried; its result is not counted", flush=True)
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


def report(study: optuna.Study, options: SearchOptions, mine: dict[int, bool]) -> None:
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    gone = sum(lost(t) for t in trials)
    print(f"\nstudy {options.study} ({options.storage}): {len(trials)} trials, {count[TrialState.COMPLETE]} complete, "
          f"{count[TrialState.FAIL] - gone} failed, {gone} lost (retried), {count[TrialState.RUNNING]} running; "
          f"this worker ran {len(mine)} ({sum(mine.values())} complete)")
    if not count[TrialState.COMPLETE]:
        raise PipelineError(f"study {options.study}: every trial failed (see the log tails above)")
    best = study.best_trial
    name = best.user_attrs.get("experiment", "?")
    print(f"best: trial {best.number}, {options.metric} = {best.value:.4f} ({options.direction})")
    print("params: " + " ".join(f"{k}={value_text(v)}" for k, v in best.params.items()))
    if options.git_remote:
        print(f"experiment: {name}   (dvc exp pull {options.git_remote} {name} && dvc exp apply {name})")
    else:
        print(f"experiment: {name}   (dvc exp apply {name})")
    if mine and not any(mine.values()):
        raise PipelineError(f"study {options.study}: every trial of this worker failed (see the log tails above)")


def run(options: SearchOptions) -> None:
    """The command: `search`, stopped by SIGTERM as by Ctrl+C (trials in flight are told FAIL, the queue and
    the clone are cleaned up)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    search(options)
