"""Sweeps and the resplit study through DVC's real queue, in temporary git repositories on the digits preset."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import dvc.api
import pytest
import yaml

from mlkit.core.errors import PipelineError
from mlkit.testing import Project, digits_project
from mlkit.tools.experiments import queue as ex
from mlkit.tools.experiments.grid import expand, validate_grid
from mlkit.tools.experiments.search_space import check_space, parse_dimension


@pytest.fixture
def digits(tmp_path) -> Project:
    project = digits_project(tmp_path / "project")
    yield project
    project.dvc("queue", "stop", check=False)  # idle workers would otherwise linger ~10 s before exiting


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """Digits with the baseline run committed: queued experiments take unchanged stages from the cache.
    The tests that run experiments share it, each under its own name prefix."""
    project = digits_project(tmp_path_factory.mktemp("sweep") / "project")
    project.dvc("repro")
    project.commit("digits: baseline run")
    yield project
    project.dvc("queue", "stop", check=False)


def tool(project: Project, command: str, *args: str):
    """`mlkit COMMAND ARGS` (the tools' modules have no __main__ since the CLI moved to mlkit/cli)."""
    return project.tool(command, *args)


def experiments(project: Project, prefix: str) -> dict[str, dict]:
    rows = dvc.api.exp_show(repo=str(project.path))
    return {r["Experiment"]: r for r in rows
            if r.get("typ") != "baseline" and str(r.get("Experiment")).startswith(prefix + "-")}


def untouched(project: Project, params_before: str) -> None:
    assert project.file("params.yaml").read_text() == params_before
    assert project.git("status", "--porcelain").stdout == ""


def test_grid_expands_as_dvc_does() -> None:
    grid = expand(["model.C=0.5,1,1.5,2", "model.gamma=0.5,1", "augment.methods=[synonyms,emoji]"])
    assert len(grid) == 8 and grid.is_sweep
    assert grid.keys == ["model.C", "model.gamma", "augment.methods"]
    assert grid.points[0] == ["model.C=0.5", "model.gamma=0.5", "augment.methods=[synonyms,emoji]"]
    single = expand(["augment.methods=[synonyms,emoji]"])  # a list value, not a sweep
    assert len(single) == 1 and not single.is_sweep
    assert len(expand(["model.C=range(1,4)"])) == 3
    with pytest.raises(PipelineError, match="only params.yaml"):
        expand(["other.yaml:model.C=1"])


def test_a_grid_runs_in_parallel_and_leaves_the_workspace_alone(built: Project) -> None:
    digits = built
    params = digits.file("params.yaml").read_text()
    done = tool(digits, "sweep", "-S", "model.gamma=0.001,0.01", "-S", "model.C=1,2", "-j", "2",
                "--name", "g", "--best", "valid.accuracy")
    assert done.returncode == 0, done.stdout + done.stderr
    found = experiments(digits, "g")
    assert sorted(found) == ["g-1", "g-2", "g-3", "g-4"]
    assert {(r["model.gamma"], r["model.C"]) for r in found.values()} == {(0.001, 1), (0.001, 2), (0.01, 1), (0.01, 2)}
    assert all(r["State"] == "Success" and r["valid.accuracy"] > 0.5 for r in found.values())
    top = max(found.values(), key=lambda r: r["valid.accuracy"])
    assert f"best by valid.accuracy: {top['Experiment']}" in done.stdout
    for name in found:
        assert name in done.stdout  # the table
    untouched(digits, params)  # queued runs happen in temporary folders
    assert ex.live_workers(digits.path) == []  # the sweep's workers end with it, none left idling


def test_a_long_experiment_is_not_silent(built: Project) -> None:
    lines: list[str] = []
    result = ex.sweep(["model.C=3"], jobs=1, prefix="h", root=built.path, report=lines.append, heartbeat=1)
    assert [o.status for o in result.outcomes] == ["Success"]
    assert lines[0] == "queued 1 experiment(s); running them with 1 queue worker(s)"
    assert re.fullmatch(r"success: h \(1/1, \d+ s\)", lines[-1]), lines
    beats = lines[1:-1]  # while it ran: what is running, how many are done, the time so far
    assert beats and all(re.fullmatch(r"running: (h|none yet \(queued\)) \(0/1 done, \d+ s\)", b) for b in beats), lines
    assert any(b.startswith("running: h ") for b in beats), lines


def test_a_failed_experiment_exits_1_with_its_log(built: Project) -> None:
    digits = built
    # data.limit=5 passes the schema, but 5 digits cannot be split stratified: the split stage fails.
    done = tool(digits, "sweep", "-S", "data.limit=5,1797", "--name", "f")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "experiment f-1 failed" in done.stderr
    assert "stratified splitting needs at least 3" in done.stderr  # from `dvc queue logs f-1`
    assert done.stderr.strip().splitlines()[-1] == "error: 1 of 2 experiment(s) failed: f-1"
    assert "f-2" in done.stdout and "f-1" not in done.stdout  # the table holds the one that ran


@pytest.mark.parametrize("override, expected", [
    ("model.gama=1", "params.yaml with -S model.gama=1: model.gama: unknown key"),
    ("model.gamma=0.001,-1", "params.yaml with -S model.gamma=-1: model.gamma: must be a number > 0"),
])
def test_a_bad_grid_queues_nothing(digits: Project, override: str, expected: str) -> None:
    done = tool(digits, "sweep", "-S", "model.C=1,2", "-S", override)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), done.stderr
    assert "No experiment tasks in the queue." in digits.dvc("queue", "status").stdout
    assert digits.git("for-each-ref", "refs/exps").stdout == ""


def test_a_swept_key_the_model_ignores_queues_nothing(digits: Project) -> None:
    # LinearSVC has no gamma: four experiments would give one model, and "best gamma" a pick among ties
    done = tool(digits, "sweep", "-S", "model.type=linear_svc", "-S", "model.gamma=0.001,0.01,0.1,1",
                "--best", "valid.accuracy")
    assert done.returncode == 1 and done.stdout == ""
    # The digits preset's own gamma (0.001) is refused with the first override that makes it unread.
    assert done.stderr == ("error: params.yaml with -S model.type=linear_svc: model.gamma: "
                           "model.type linear_svc does not read it (read by svc); remove it (its default is 0.1) or "
                           "choose a model that reads it\n")
    assert "No experiment tasks in the queue." in digits.dvc("queue", "status").stdout


@pytest.mark.fast
def test_a_key_is_refused_only_when_no_point_of_the_grid_reads_it(tmp_path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(Path("presets/digits.yaml").read_text())
    validate_grid(expand(["model.kernel=linear,rbf", "model.gamma=0.01,0.1"]), params)  # rbf reads gamma
    with pytest.raises(PipelineError, match=r"model.max_iter: model.type svc does not read it \(read by linear_svc, "
                       r"logreg\); remove it"):  # its svc points would be ties
        validate_grid(expand(["model.type=svc,logreg", "model.max_iter=100,200"]), params)
    default = tmp_path / "default.yaml"
    default.write_text(Path("presets/default.yaml").read_text().replace("type: svc", "type: linear_svc"))
    validate_grid(expand(["model.type=linear_svc,logreg", "+model.max_iter=100,200"]), default)  # both read it
    raw = yaml.safe_load(Path("presets/emotion_transformer.yaml").read_text())
    raw["features"] = {"min_df": 2}
    default.with_name("t.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(PipelineError, match=r"-S model.gamma: .*model.kernel linear does not read it"):
        validate_grid(expand(["model.kernel=linear", "model.gamma=0.01,0.1"]), params)
    with pytest.raises(PipelineError, match=r"with -S model.type=transformer: model.C: model.type transformer does "
                       r"not read it"):  # digits' C and gamma, which a transformer would ignore
        validate_grid(expand(["model.type=transformer", "features.min_df=1,2"]), params)
    with pytest.raises(PipelineError, match=r"-S features.min_df: .*model.type transformer does not read it"):
        validate_grid(expand(["features.min_df=2"]), default.with_name("t.yaml"))
    base = yaml.safe_load(params.read_text())
    check_space([parse_dimension("model.kernel=choice:linear,rbf"), parse_dimension("model.gamma=log:0.001:1")], base)
    with pytest.raises(PipelineError, match=r"^--space model.n_estimators=int:10:100: .*model.type svc does not read"):
        check_space([parse_dimension("model.n_estimators=int:10:100")], base)


def test_uncommitted_code_is_refused(digits: Project) -> None:
    with digits.file("stages/train.py").open("a") as f:
        f.write("# an edit the queued runs would not see\n")
    done = tool(digits, "sweep", "-S", "model.C=1,2")
    assert done.returncode == 1
    assert done.stderr.startswith("error: uncommitted changes in stages/train.py") and done.stderr.count("\n") == 1
    assert "No experiment tasks in the queue." in digits.dvc("queue", "status").stdout


@pytest.mark.fast
def test_only_untracked_sources_that_params_read_block_a_sweep(tmp_path) -> None:
    project = Project(tmp_path)
    project.git("init", "-q", "-b", "main")
    params = yaml.safe_load(Path("presets/default.yaml").read_text())
    params["data"]["sources"] = [{"kind": "file", "path": "./data/sources/t.csv"}]
    project.file("params.yaml").write_text(yaml.safe_dump(params))
    project.commit("params")
    project.file("data/sources").mkdir(parents=True)
    # What `git checkout` leaves behind from a branch whose .dvc file imported it: no source reads it.
    project.file("data/sources/old.csv").write_text("text,label\nleft behind,a\n")
    ex.check_committed(project.path)
    project.file("data/sources/t.csv").write_text("text,label\nnot committed,a\n")
    with pytest.raises(PipelineError, match=r"^uncommitted changes in data/sources/t.csv: queued experiments"):
        ex.check_committed(project.path)


def test_idle_workers_of_an_earlier_run_are_stopped_before_a_new_sweep(digits: Project) -> None:
    # A worker with nothing to do lingers, and on a loaded machine can hang on exit; a worker shutting
    # down could take the new sweep's task and leave it `Running` forever, so the sweep ends it first.
    ex.start_workers(1, digits.path)
    deadline = time.monotonic() + 20
    while not ex.live_workers(digits.path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ex.live_workers(digits.path), "dvc queue start left no worker record"
    ex.check_queue_idle(digits.path, linger=0)
    assert ex.live_workers(digits.path) == []


def test_resplit_report_flags_the_overfitted_gamma(built: Project, tmp_path: Path) -> None:
    digits = built
    study = tmp_path / "study"  # outside the shared project: the other tests find its workspace clean
    done = tool(digits, "resplit", "run", "--gamma", "0.001,0.1", "--seeds", "1,2", "-j", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(experiments(digits, "resplit")) == 4

    again = tool(digits, "resplit", "report", "--out", str(study), "--threshold", "0.1")  # from exp_show only
    assert again.returncode == 0, again.stderr
    assert "queued" not in again.stderr and len(experiments(digits, "resplit")) == 4
    with (study / "curves.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["gamma"]) for r in rows] == [0.001, 0.1]
    assert [r["overfit"] for r in rows] == ["0", "1"]
    assert all(r["runs"] == "2" for r in rows)
    assert float(rows[1]["train_accuracy_mean"]) == 1.0 and float(rows[1]["test_accuracy_mean"]) < 0.3
    assert float(rows[0]["test_accuracy_mean"]) > 0.95
    table = (study / "report.md").read_text()
    assert table.count("**yes**") == 1 and re.search(r"^\| 0\.1 +\| +2 \|", table, re.M), table  # tabulate pads
    assert (study / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
