"""Scheduled retraining in one command: what an Airflow retraining DAG does, the DVC way.

    mlkit retrain [--push]
    mlkit retrain --search-trials 8 --space 'model.C=log:0.05:5' --space 'features.min_df=int:1:5' --push

Steps, one line each, then a verdict line:
  sources   `dvc update` of every imported source (`import_url` in params.yaml; `mlkit import`)
  pipeline  `dvc repro`; its compare stage judges the new model against the registry's champion
  commit    what changed, on the current branch
  search    with --search-trials: `mlkit search` from that commit; the best trial is applied (`dvc exp
            apply`), rerun and committed when it beats the current parameters on the search metric
  registry  `mlkit registry promote`: a new version and the champion's stage only when compare says promote
  push      with --push: `dvc push`, then `git push --follow-tags origin BRANCH` (commits and registry tags)

It refuses to start when tracked files hold uncommitted changes: they would be committed along, or lost,
and when the project lacks what an unattended run needs (an imported source to refresh; with --push
--fresh-runner, a DVC remote that outlives the machine), saying all of it in one line. `--check` stops
there: the scheduled workflow runs it first.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
import yaml
from dvc.exceptions import DvcException

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError, first_line
from mlkit.core.io import read_json
from mlkit.core.params import PARAMS_FILE, load_params
from mlkit.modeling.champion import find_champion
from mlkit.tools import dvc_repo, registry
from mlkit.tools.experiments import dvc_experiments, search
from mlkit.tools.experiments.search_options import RetrainOptions, SearchOptions
from mlkit.tools.experiments.search_space import check_metric, check_space, parse_dimension, resolve_metric


def changed_tracked() -> list[str]:
    """Tracked files with uncommitted changes (untracked files are not retrain's business)."""
    return vcs.changed_tracked()


# ---------------------------------------------------------------- before anything runs
def check_start(options: RetrainOptions) -> str:
    """The branch to commit on, once the workspace is clean and (with --push) origin answers."""
    vcs.head()
    changed = changed_tracked()
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise PipelineError(f"uncommitted changes in {shown}: retrain commits what it changes and would take "
                            "them along; commit or `git stash` them first")
    branch = vcs.current_branch()
    if not branch:
        raise PipelineError("HEAD is detached: check out the branch retrain is to commit on")
    missing = project_needs(options)
    if missing:
        raise PipelineError(f"this project is not ready for scheduled retraining: it needs {'; and '.join(missing)}; "
                            "nothing was changed")
    if options.push:
        why = vcs.remote_error("origin")
        if why is not None:
            raise PipelineError(f"--push: git remote origin cannot be reached ({why}); nothing was changed")
    return branch


def project_needs(options: RetrainOptions) -> list[str]:
    """What the project lacks for an unattended retrain, each with the command that adds it."""
    missing = []
    if not dvc_repo.imported_stages():
        missing.append("an imported source to refresh (`import_url` in params.yaml, then `mlkit import`; the "
                       "shipped presets embed their data)")
    if options.push and options.fresh_runner:
        config = dvc_repo.merged_config()
        name = config["core"].get("remote")
        url = str(config.get("remote", {}).get(name, {}).get("url", "")) if name else ""
        add = "`mlkit remote add storage s3://BUCKET/PREFIX --default` (docs/tutorials/remote-storage.md)"
        if not url:
            missing.append(f"a default DVC remote to push to: {add}")
        elif "://" not in url or url.startswith("file://"):
            missing.append(f"a DVC remote that outlives this runner: the default, `{name}`, is a folder on it "
                           f"({url}): {add}")
    return missing


def resolved(options: RetrainOptions) -> RetrainOptions:
    """With a search: its metric resolved from params.yaml and its space checked, before anything runs."""
    if options.search_trials is None:
        return options
    base = yaml.safe_load(Path(PARAMS_FILE).read_text())
    metric = resolve_metric(options.metric, base)
    check_metric(metric)
    options = replace(options, metric=metric)
    check_space([parse_dimension(text) for text in options.space], base)
    return options


# ---------------------------------------------------------------- the steps
def update_sources() -> list[str]:
    """`dvc update` of every import; refuses a project with none (there is nothing to retrain on)."""
    imports = dvc_repo.imported_stages()
    if not imports:
        raise PipelineError("sources: nothing to update: no source is imported (`import_url` in params.yaml, "
                            "then `mlkit import`)")
    try:
        dvc_repo.update_imports(imports)
    except PipelineError as exc:
        raise PipelineError(f"sources: {exc}") from None
    changed = [f for f in imports if f in changed_tracked()]
    print(f"sources: updated {', '.join(changed)}" if changed
          else f"sources: unchanged ({len(imports)} import{'s' * (len(imports) > 1)} up to date)")
    return changed


def reproduce() -> str:
    """`dvc repro`, then compare again when the champion changed since compare's last verdict (DVC cannot
    track git tags, and its run-cache may restore a verdict about an older champion)."""
    done = dvc_repo.reproduce()
    ran, restored = done.ran, done.restored
    champion = find_champion(load_params().compare)
    if read_json(paths.COMPARE_JSON).get("champion_rev") != (champion.rev if champion else None):
        dvc_repo.reproduce(["compare"], force=True, single_item=True)
        ran, restored = [*(s for s in ran if s != "compare"), "compare"], [s for s in restored if s != "compare"]
    parts = [f"ran {', '.join(ran)}"] if ran else []
    parts += [f"restored {', '.join(restored)} (run-cache)"] if restored else []
    did = "; ".join(parts)
    print(f"pipeline: `dvc repro` {did}" if did else "pipeline: up to date")
    return did


def commit(message: str) -> None:
    sha = vcs.commit_tracked(message)
    if sha is not None:
        print(f"commit: {sha[:12]} {message}")


def metric_value(metrics: dict[str, Any], key: str) -> float:
    value: Any = metrics
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, (int, float)):
        raise PipelineError(f"--metric {key}: not a number in {paths.EVAL_METRICS} (got {value!r})")
    return float(value)


def search_and_apply(options: RetrainOptions) -> str | None:
    """Search from HEAD; apply the best trial when it beats HEAD's parameters. The experiment applied, or None."""
    assert options.search_trials is not None and options.metric is not None  # resolved() ran
    study = f"retrain-{time.strftime('%Y%m%d-%H%M%S')}"
    searching = SearchOptions(study=study, trials=options.search_trials, space=options.space,
                              metric=options.metric, direction=options.direction, storage=options.storage)
    log = io.StringIO()
    try:
        with redirect_stdout(log):  # its trial lines; shown when it fails
            search.search(searching)
    except PipelineError:
        sys.stderr.write(log.getvalue())
        raise
    best = optuna.load_study(study_name=study, storage=options.storage).best_trial
    assert best.value is not None  # best_trial is a complete one
    name, value = best.user_attrs["experiment"], best.value
    now = metric_value(read_json(paths.EVAL_METRICS), options.metric)
    found = f"search: study {study}, best {name} {options.metric} = {value:.4f}, current parameters {now:.4f}"
    if not (value > now if options.direction == "maximize" else value < now):
        print(f"{found}: kept the current parameters")
        return None
    dvc_experiments.apply_experiment(name)
    print(f"{found}: applied {' '.join(f'{k}={v}' for k, v in best.params.items())}")
    return name


def push(branch: str) -> None:
    """Outputs first, then the commits and tags that name them, so origin never points at missing data."""
    retry = f"once it is back: `dvc push && git push --follow-tags origin {branch}`"
    try:
        pushed = dvc_repo.push_outputs()
    except (DvcException, OSError) as exc:
        raise PipelineError(f"push: `dvc push` failed ({first_line(exc, cause=True)}); the commit and tags are "
                            f"here, {retry}") from None
    why = vcs.push_branch_with_tags("origin", branch)
    if why is not None:
        raise PipelineError(f"push: `git push` to origin failed ({why}); the outputs are on the DVC remote, the "
                            f"commit and tags here: {retry}")
    print(f"push: {pushed} file(s) to the DVC remote; {branch} and its tags to origin")


def verdict(version: str | None, pushed: bool) -> str:
    result = read_json(paths.COMPARE_JSON)
    figures = ""
    if "difference" in result:
        figures = f" ({result['metric']} {result['difference']:+.4f} [{result['low']:+.4f}, {result['high']:+.4f}])"
    where = "" if pushed else " (local; --push publishes it)"
    if version is None:
        return f"verdict: keep the champion{figures}: {result['reason']}"
    stage = load_params().compare.champion_stage
    return f"verdict: promoted {version} to `{stage}`{figures}: {result['reason']}{where}"


# ---------------------------------------------------------------- the command
def retrain(options: RetrainOptions) -> None:
    branch = check_start(options)
    options = resolved(options)
    if options.check:
        print(f"ready: {len(dvc_repo.imported_stages())} imported source(s), branch {branch}"
              f"{', origin answers' if options.push else ''}")
        return
    try:
        updated, did = update_sources(), reproduce()
        commit(f"retrain: {'sources updated, ' if updated else ''}`dvc repro` {did}")
        if options.search_trials is not None:
            applied = search_and_apply(options)
            if applied:
                reproduce()
                commit(f"retrain: parameters of {applied}")
        with dvc_repo.quiet(logging.ERROR):  # its status check warns that imports are frozen, as they always are
            version = registry.promote(push=False, publishing="; pushed below" if options.push else
                                       "; `mlkit retrain --push` (or `git push --follow-tags`) publishes it")
        if options.push:
            push(branch)
    except PipelineError as exc:
        left = changed_tracked()
        if left:  # this run's own changes: the start was clean
            raise PipelineError(f"{exc} (this run left {', '.join(left[:5])} changed: `git checkout -- . && dvc "
                                "checkout` goes back to the last commit)") from None
        raise
    print(verdict(version, options.push))
