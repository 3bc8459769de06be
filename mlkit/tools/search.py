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

import argparse
import os
import re
import signal
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from mlkit.core import vcs
from mlkit.core.devices import use_gpus
from mlkit.core.errors import PipelineError, first_line, run_main
from mlkit.tools import queue as ex
from mlkit.tools.search_clone import METRICS_FILE, POLL_SECONDS, Clone
from mlkit.tools.search_space import (
    Dimension,
    check_metric,
    check_space,
    override,
    parse_dimension,
    resolve_metric,
    value_text,
)
from mlkit.tools.search_study import (
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

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# ---------------------------------------------------------------- the search


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
    if args.metric is not None:
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
        args.metric = resolve_metric(args.metric, base)
        check_metric(args.metric)
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
    print("params: " + " ".join(f"{k}={value_text(v)}" for k, v in best.params.items()))
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
    parser.add_argument("--metric", default=None, help=f"a key of {METRICS_FILE}, never test.* (default: "
                        "valid.METRIC for params.yaml's compare.metric)")
    parser.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=KIND:ARGS",
                        help="float:LOW:HIGH | log:LOW:HIGH | int:LOW:HIGH | choice:A,B,...; repeat per key")
    parser.add_argument("--storage", default="sqlite:///optuna.db", help="an Optuna RDB (SQLAlchemy) URL")
    parser.add_argument("--seed", type=int, default=42, help="TPE's seed (trial slot k uses seed + k)")
    parser.add_argument("--gpus", metavar="0,1,...", help="GPUs this worker's parallel trials share, one each "
                        "(a transformer trial waits for a free one); sets MLKIT_GPUS for its queue")
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
    if args.gpus is not None:
        use_gpus(args.gpus, args.parallel, "--parallel")
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
