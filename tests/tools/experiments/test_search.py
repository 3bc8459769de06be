"""`mlkit search` end to end: Optuna asks, real DVC experiments run through the queue, Optuna is told."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest

from mlkit.testing import ENV, Project, digits_project, trial_accuracies

SPACE = ["--space", "model.C=log:0.5:20", "--space", "model.gamma=log:0.0002:0.005"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The digits preset (seconds per run), reproduced and committed: trials rerun only train onwards."""
    project = digits_project(tmp_path_factory.mktemp("search") / "project")
    project.dvc("repro")
    project.commit("digits: dvc.lock")
    return project


def search(project: Project, study: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return project.run(sys.executable, "-m", "mlkit", "search", "--study", study, "--metric", "valid.accuracy",
                       *args, check=check)


def experiments(project: Project, study: str) -> dict[str, float]:
    """Experiment name -> valid.accuracy, from `dvc exp show --json -A`."""
    return trial_accuracies(project.dvc("exp", "show", "--json", "-A").stdout, study)


def trials(project: Project, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=f"sqlite:///{project.file('optuna.db')}").trials


def test_search_runs_trials_as_dvc_experiments(digits: Project) -> None:
    done = search(digits, "one", "--trials", "4", "--parallel", "2", "--space", "model.kernel=choice:rbf,linear",
                  *SPACE)
    names = [f"one-t{i:03d}" for i in range(4)]
    shown = experiments(digits, "one")
    assert sorted(shown) == names
    study = trials(digits, "one")
    assert [t.state for t in study] == [optuna.trial.TrialState.COMPLETE] * 4
    assert {t.user_attrs["experiment"]: t.value for t in study} == shown  # told exactly what DVC recorded
    assert len({(t.params["model.C"], t.params["model.gamma"]) for t in study}) == 4

    best = max(study, key=lambda t: t.value)
    assert f"experiment: {best.user_attrs['experiment']}" in done.stdout
    digits.dvc("exp", "apply", best.user_attrs["experiment"])  # the printed name is a real experiment
    assert digits.params()["model"]["C"] == pytest.approx(best.params["model.C"])
    digits.git("checkout", "--", "params.yaml", "dvc.lock")
    assert not list(digits.file(".dvc/tmp/search").iterdir())  # the worker's clone is gone


def test_two_workers_share_one_study_and_its_budget(digits: Project) -> None:
    command = [sys.executable, "-m", "mlkit", "search", "--study", "two", "--metric", "valid.accuracy",
               "--trials", "3", "--parallel", "1", *SPACE]
    workers = [subprocess.Popen(command, cwd=digits.path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=1500) for w in workers]  # 300 s timed out at load average 8-10
    assert [w.returncode for w in workers] == [0, 0], outputs

    study = trials(digits, "two")
    # Three slots for two workers of one trial at a time: the second to finish finds the budget spent.
    assert sorted(t.number for t in study) == [0, 1, 2]  # the global budget, no number twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study)
    assert len({t.user_attrs["worker"] for t in study}) == 2  # both workers ran trials
    assert experiments(digits, "two") == {t.user_attrs["experiment"]: t.value for t in study}


def test_a_failed_trial_is_told_as_fail(digits: Project) -> None:
    # Schema-valid, but no class can reach half of the train rows: the augment stage stops.
    done = search(digits, "bad", "--trials", "1", "--space", "augment.balance.target_share=float:0.5:0.9",
                  check=False)
    assert done.returncode == 1
    assert "trial 0 FAILED: bad-t000: the experiment failed" in done.stdout
    assert "    | " in done.stdout  # the log tail
    assert done.stderr.strip().splitlines()[-1].startswith("error: study bad: every trial failed")
    assert [t.state for t in trials(digits, "bad")] == [optuna.trial.TrialState.FAIL]


@pytest.mark.parametrize("space, message", [
    ("model.gama=log:0.1:1", "error: --space model.gama=log:0.1:1: model.gama: unknown key"),
    ("model.gamma=float:-1:1", "error: --space model.gamma=float:-1:1: model.gamma: must be a number > 0, "
                               "'scale' or 'auto' (got -1.0)"),
])
def test_a_bad_space_stops_before_anything_is_queued(digits: Project, space: str, message: str) -> None:
    done = search(digits, "never", "--trials", "2", "--space", space, "--storage", "sqlite:///never.db", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [message]
    assert not digits.file("never.db").exists()  # no study either
    assert experiments(digits, "never") == {}
    assert "never-t" not in digits.dvc("queue", "status").stdout


def test_uncommitted_code_or_params_are_refused(digits: Project) -> None:
    digits.set_params(model={"C": 3})
    try:
        done = search(digits, "dirty", "--trials", "1", *SPACE, check=False)
    finally:
        digits.git("checkout", "--", "params.yaml")
    assert done.returncode == 1
    assert done.stderr.startswith("error: uncommitted changes in params.yaml: queued experiments see only")


def test_the_test_split_is_never_searched_on(digits: Project) -> None:
    done = digits.run(sys.executable, "-m", "mlkit", "search", "--study", "peek", "--metric", "test.accuracy",
                      "--trials", "1", *SPACE, "--storage", "sqlite:///peek.db", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --metric test.accuracy: the test split is never optimised on (gap uses it too); use a valid.* "
        "metric such as valid.f1_macro"]
    assert not digits.file("peek.db").exists() and experiments(digits, "peek") == {}


def test_a_new_study_cannot_reuse_the_name_of_experiments_still_here(digits: Project) -> None:
    digits.dvc("exp", "run", "-n", "reused-t000", "-S", "model.C=2")  # as an earlier study "reused" left it
    digits.git("checkout", "--", "params.yaml", "dvc.lock")
    done = search(digits, "reused", "--trials", "1", *SPACE, "--storage", "sqlite:///fresh.db", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: study reused is new in sqlite:///fresh.db, but experiments reused-t000 already exist here: choose "
        "another --study name, or `dvc exp remove reused-t000 ...` first"]
    assert list(experiments(digits, "reused")) == ["reused-t000"]  # the earlier experiment is kept
    assert "reused-t" not in digits.dvc("queue", "status").stdout


FALLBACK = """
import sys
import optuna
from mlkit.tools.experiments.search_options import SearchOptions
from mlkit.tools.experiments.search_space import parse_dimension
from mlkit.tools.experiments.search_study import Lost, open_study

options = SearchOptions(study="s", trials=1, space=["model.C=log:0.5:20"], metric="valid.accuracy",
                        storage=sys.argv[1])
open_study(options, [parse_dimension("model.C=log:0.5:20")], Lost())
logger = optuna.logging.get_logger("optuna.storages._rdb.storage")  # what Optuna's fallback logs to
logger.warning("Caught an error from sqlalchemy: (psycopg.OperationalError) consuming input failed: server "
               "closed the connection unexpectedly\\n[SQL: SELECT trial_values.trial_id FROM trial_values]. "
               "Falling back to a slower alternative.")
logger.warning("another warning")
"""


@pytest.mark.fast
def test_a_failed_query_is_not_dumped_with_its_sql(tmp_path) -> None:
    """Optuna's storage logs a query that failed (a database going away) with its SQL over several lines
    before it tries a slower one; a search says one line instead (`database HOST unreachable`). Optuna's
    other warnings still show."""
    done = subprocess.run([sys.executable, "-c", FALLBACK, f"sqlite:///{tmp_path / 'optuna.db'}"], env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[SQL:" not in done.stderr and "Caught an error" not in done.stderr, done.stderr
    assert "another warning" in done.stderr
