"""The experiment commands: sweep, search, retrain, resplit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlkit.cli.app import DirectionOption, Gpus, Metric, Space, Storage, app
from mlkit.tools.experiments.search_options import (
    DEFAULT_STORAGE,
    GIT_REMOTE_ENV,
    OUTAGE_ENV,
    STORAGE_ENV,
    TIMEOUT_ENV,
)

# A URL with a password or token given on the command line is visible to every local user (`ps`): these
# read it from the environment (a Kubernetes Secret) or from a file only its owner may read (SLURM).
SearchStorage = Annotated[str, typer.Option(
    metavar="URL", envvar=STORAGE_ENV, help="an Optuna RDB (SQLAlchemy) URL holding the study; with a password, "
    f"give it in ${STORAGE_ENV} or --storage-file instead (the command line is public)")]


# ---------------------------------------------------------------- experiments
@app.command()
def sweep(
    set_param: Annotated[list[str], typer.Option(
        "-S", "--set-param", metavar="KEY=VALUES", help="a parameter and its values, as for `dvc exp run -S` "
        "(repeatable: the grid is the product)")] = [],  # noqa: B006 - Typer's list default, never mutated
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="queue workers running in parallel")] = 2,
    name: Annotated[str | None, typer.Option(
        "-n", "--name", metavar="PREFIX", help="name the experiments PREFIX-1..N (DVC's sweep naming); "
        "default: DVC's random names")] = None,
    best: Annotated[str | None, typer.Option(
        metavar="METRIC", help="name the best experiment by this metric, e.g. valid.f1_macro")] = None,
    minimize: Annotated[bool, typer.Option("--minimize", help="with --best: lower is better")] = False,
    metrics: Annotated[str | None, typer.Option(
        metavar="KEY,KEY", help="metric columns (default: the headline metric of each split)")] = None,
    md: Annotated[bool, typer.Option("--md", help="print the table as Markdown")] = False,
    gpus: Gpus = None,
    timeout: Annotated[float | None, typer.Option(
        metavar="SECONDS", help="stop waiting after this long (the experiments go on in the queue)")] = None,
) -> None:
    """A -S grid through DVC's experiment queue, checked before anything is queued, with a results table.

    \b
        mlkit sweep -S 'model.C=0.25,0.5,1' -S 'features.min_df=1,2' -j 2 --best valid.f1_macro

    -S takes the grids `dvc exp run --queue -S` takes (comma lists, range(start,stop,step), lists in
    brackets). Every point is validated against the params schema first; then the grid is queued, run by
    `dvc queue start -j N` and followed until each experiment succeeded or failed. Failed experiments are
    named with the end of their `dvc queue logs` (exit 1).
    """
    from mlkit.tools.experiments.sweep import SweepOptions
    from mlkit.tools.experiments.sweep import sweep as run

    run(SweepOptions(set_params=set_param, jobs=jobs, name=name, best=best, minimize=minimize, metrics=metrics,
                     md=md, gpus=gpus, timeout=timeout))


@app.command()
def search(
    study: Annotated[str, typer.Option(help="study name; experiments are named STUDY-tNNN", show_default=False)],
    trials: Annotated[int, typer.Option(help="trial budget of the whole study (all workers)", show_default=False)],
    space: Space = [],  # noqa: B006 - Typer's list default, never mutated
    parallel: Annotated[int, typer.Option(help="experiments this worker runs at once")] = 1,
    metric: Metric = None,
    direction: DirectionOption = "maximize",
    storage: SearchStorage = DEFAULT_STORAGE,
    storage_file: Annotated[str | None, typer.Option(
        metavar="PATH", help="read --storage from the first line of this file (mode 600)")] = None,
    seed: Annotated[int, typer.Option(help="TPE's seed (trial slot k uses seed + k)")] = 42,
    gpus: Gpus = None,
    heartbeat: Annotated[int, typer.Option(
        metavar="SECONDS", help="a trial's heartbeat interval; one silent for 3 intervals is failed and "
        "retried")] = 30,
    git_remote: Annotated[str | None, typer.Option(
        metavar="URL", help="a worker on another machine: the project's git repository (clone it, push "
        f"experiments to it); with a token, give it in ${GIT_REMOTE_ENV} or --git-remote-file",
        envvar=GIT_REMOTE_ENV)] = None,
    git_remote_file: Annotated[str | None, typer.Option(
        metavar="PATH", help="read --git-remote from the first line of this file (mode 600)")] = None,
    dvc_remote: Annotated[str | None, typer.Option(
        metavar="NAME|URL", help="a worker on another machine: a DVC remote of the project, or its URL (pull "
        "the outputs, push each experiment's)")] = None,
    rev: Annotated[str | None, typer.Option(
        help="with --git-remote: the commit to run (default: the study's, or else the remote's HEAD)")] = None,
    workdir: Annotated[str | None, typer.Option(
        metavar="DIR", help="with --git-remote: where the clone goes (default: $TMPDIR/mlkit-search)")] = None,
    timeout: Annotated[float, typer.Option(
        metavar="SECONDS", envvar=TIMEOUT_ENV, help="connect and read timeout of each call to the database, the "
        "git remote and an S3 DVC remote")] = 30.0,
    grid: Annotated[bool, typer.Option(
        "--grid", help="run every point of the grid of the choice dimensions once (a sweep on the search's "
        "workers), instead of TPE")] = False,
    outage: Annotated[float, typer.Option(
        metavar="SECONDS", envvar=OUTAGE_ENV, help="how long a worker waits through a database outage "
        "(reconnecting with backoff) before it stops")] = 300.0,
) -> None:
    """Optuna hyper-parameter search over queued DVC experiments: TPE (seeded) asks, DVC runs, Optuna is told.

    \b
        mlkit search --study linear --trials 20 --parallel 2 \\
            --space 'model.C=log:0.01:10' --space 'features.min_df=int:1:5'

    Each trial is a DVC experiment named STUDY-tNNN. The study lives in an Optuna storage (--storage), so
    several workers, on one machine or several, share it and its trial budget. A worker on another machine
    needs no copy of the project, only three URLs: --git-remote, --dvc-remote and a --storage database
    server. A trial whose worker died is failed once its heartbeat is stale, and retried.
    """
    from mlkit.tools.experiments.search import run
    from mlkit.tools.experiments.search_options import SearchOptions, read_secret_file

    if storage_file:
        storage = read_secret_file(storage_file, "--storage-file")
    if git_remote_file:
        git_remote = read_secret_file(git_remote_file, "--git-remote-file")
    run(SearchOptions(study=study, trials=trials, space=space, parallel=parallel, metric=metric,
                      direction=direction, storage=storage, seed=seed, gpus=gpus, heartbeat=heartbeat,
                      git_remote=git_remote, dvc_remote=dvc_remote, rev=rev, workdir=workdir, timeout=timeout,
                      outage=outage, grid=grid))


@app.command()
def retrain(
    push: Annotated[bool, typer.Option("--push", help="dvc push, then git push --follow-tags origin BRANCH")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="only check that the project is ready (clean, an imported source, with --push a reachable "
        "origin); change nothing")] = False,
    fresh_runner: Annotated[bool, typer.Option(
        "--fresh-runner", help="this machine is discarded after the run (a CI runner): refuse a DVC remote that "
        "is a folder on it")] = False,
    search_trials: Annotated[int | None, typer.Option(
        metavar="N", help="run an Optuna search of N trials first")] = None,
    space: Space = [],  # noqa: B006 - Typer's list default, never mutated
    metric: Metric = None,
    direction: DirectionOption = "maximize",
    storage: Storage = DEFAULT_STORAGE,
) -> None:
    """Scheduled retraining: dvc update, dvc repro, commit, (search), promote, (push); then a verdict line.

    \b
        mlkit retrain --push
        mlkit retrain --search-trials 8 --space 'model.C=log:0.05:5' --push

    It refuses to start when tracked files hold uncommitted changes: they would be committed along, or lost.
    With --search-trials, the best trial is applied, rerun and committed when it beats the current
    parameters on the search metric. The registry promotes only when compare says so.
    """
    from mlkit.tools.experiments.search_options import RetrainOptions
    from mlkit.tools.retrain import retrain as run

    run(RetrainOptions(push=push, check=check, fresh_runner=fresh_runner, search_trials=search_trials, space=space,
                       metric=metric, direction=direction,
                       storage=storage))


resplit = typer.Typer(help="The digits study: gamma against many seeded re-splits (run, then report).",
                      no_args_is_help=True)
app.add_typer(resplit, name="resplit")
Name = Annotated[str, typer.Option("-n", "--name", metavar="PREFIX", help="experiment name prefix")]
Threshold = Annotated[float, typer.Option(help="train-test accuracy gap flagged as over-fitted")]
Out = Annotated[Path, typer.Option(help="folder for report.md, curves.csv, accuracy.png")]


@resplit.command("run")
def resplit_run(
    gamma: Annotated[str, typer.Option(help="comma-separated model.gamma values", show_default=False)],
    seeds: Annotated[str, typer.Option(help="comma-separated split.seed values", show_default=False)],
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="queue workers running in parallel")] = 2,
    timeout: Annotated[float | None, typer.Option(metavar="SECONDS", help="stop waiting after this long")] = None,
    name: Name = "resplit",
    threshold: Threshold = 0.1,
    out: Out = Path("resplit"),
) -> None:
    """Queue and run gamma x split.seed (a sweep of the committed params), then report."""
    from mlkit.tools.experiments import resplit as study

    study.run(gamma, seeds, jobs, timeout, name, threshold, out)


@resplit.command("report")
def resplit_report(name: Name = "resplit", threshold: Threshold = 0.1, out: Out = Path("resplit")) -> None:
    """Per gamma, the mean and spread of accuracy over the split seeds, from dvc.api.exp_show (nothing reruns)."""
    from mlkit.tools.experiments import resplit as study

    study.show(name, threshold, out)
