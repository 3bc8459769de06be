"""Champion vs challenger: the paired bootstrap in compare, the GTO registry, the promote command."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlkit.core.params import CompareParams
from mlkit.modeling.comparison import decide
from mlkit.modeling.metrics import PairedBootstrap, counted_score, paired_bootstrap, score, targets
from mlkit.testing import Project, emotion_project


def decision(project: Project) -> dict:
    result = json.loads(project.file("metrics/compare.json").read_text())
    print(f"\n{result['decision']}: {result.get('difference', 0):+.4f} "
          f"[{result.get('low', 0):+.4f}, {result.get('high', 0):+.4f}] p={result.get('p_value')}: {result['reason']}")
    return result


def promote(project: Project, check: bool = True):
    return project.run(sys.executable, "-m", "mlkit", "registry", "promote", check=check)


def tags(project: Project) -> list[str]:
    return project.git("tag").stdout.split()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A deliberately weak model (C=0.05), committed and promoted to `prod`: there was no champion."""
    project = emotion_project(tmp_path_factory.mktemp("registry") / "project")
    project.set_params(model={"C": 0.05})
    project.dvc("repro")
    first = decision(project)
    assert first["decision"] == "promote" and first["reason"] == "there is no champion yet"
    assert first["champion_rev"] is None
    project.commit("weak model")
    out = promote(project).stdout
    assert "v0.0.1" in out and "stage `prod`" in out
    assert tags(project) == ["text-classifier#prod#1", "text-classifier@v0.0.1"]
    return project


@pytest.fixture
def champion(registry: Project) -> Iterator[Project]:
    """The registry project; afterwards its workspace is back at its last commit (experiments apply theirs)."""
    yield registry
    registry.git("checkout", "--", "params.yaml", "dvc.lock")
    registry.dvc("checkout", "--force")


@pytest.fixture
def own_registry(registry: Project, tmp_path: Path) -> Project:
    """A copy of the registry project (git, DVC cache and tags) that a test may promote in: the module's
    other tests, in any order, keep v0.0.1 as their champion."""
    shutil.copytree(registry.path, tmp_path / "project", symlinks=True)
    copy = Project(tmp_path / "project")
    copy.git("checkout", "--", "params.yaml", "dvc.lock")
    copy.dvc("checkout", "--force")
    return copy


def test_champion_from_another_split_is_rescored_on_rows_it_never_trained_on(champion: Project) -> None:
    champion.dvc("exp", "run", "-S", "model.C=1", "-S", "split.seed=7")
    result = decision(champion)
    report = champion.file("metrics/compare.md").read_text()
    assert "re-scored on the" in report and "current test rows it did not train on" in report
    test_rows = len(champion.file("metrics/eval/predictions.csv").read_text().splitlines()) - 1
    assert 0 < result["rows"] < test_rows  # seed 7's test split overlaps the champion's train split


def find_experiment(shown: object, name: str) -> dict:
    """The entry of the experiment called `name` in `dvc exp show --json` (its rev, its data)."""
    if isinstance(shown, dict):
        if shown.get("name") == name and isinstance(shown.get("data"), dict):
            return shown
        children = list(shown.values())
    else:
        children = list(shown) if isinstance(shown, list) else []
    for child in children:
        found = find_experiment(child, name)
        if found:
            return found
    return {}


def test_queued_experiment_sees_the_registry(champion: Project) -> None:
    """Queued runs happen in a fresh repo under .dvc/tmp/exps without tags: compare reads the project's.

    Asserted on this experiment's own compare.json, not on anything `exp show` lists (other tests'
    experiments may be there, or not)."""
    holder = champion.run(sys.executable, "-c", "from mlkit.modeling.champion import stage_holder; "
                          "h = stage_holder('prod'); print(h.rev); print(h.described)").stdout.splitlines()
    name = f"queued-{time.monotonic_ns()}"
    champion.dvc("exp", "run", "--queue", "-S", "model.C=1", "-n", name)
    champion.dvc("queue", "start")
    for _ in range(240):
        status = champion.dvc("queue", "status").stdout
        if "Running" not in status and "Queued" not in status:
            break
        time.sleep(1)
    ours = [line for line in status.splitlines() if name in line]
    assert ours and "Success" in ours[0], status + champion.dvc("queue", "logs", name, check=False).stdout
    # compare.json is an output, not a DVC metric: read it at the experiment's commit through DVC's cache.
    rev = find_experiment(json.loads(champion.dvc("exp", "show", "--json").stdout), name)["rev"]
    read = f"import sys, dvc.api; sys.stdout.write(dvc.api.read('metrics/compare.json', rev='{rev}'))"
    result = json.loads(champion.run(sys.executable, "-c", read).stdout)
    assert [result["champion_rev"], result["champion"]] == holder  # the registry's champion, whichever it is now
    assert "in stage `prod`" in result["champion"] and "difference" in result


@pytest.mark.parametrize(("override", "expected"), [
    ("compare.champion_rev=no-such-rev",
     "error: compare.champion_rev: no git revision 'no-such-rev' in this repository"),
    ("compare.resamples=0", "error: params.yaml: compare.resamples: Input should be greater than or equal to 1"),
    ("compare.metric=f1", "error: params.yaml: compare.metric: 'f1' does not apply to a multiclass task"),
])
def test_bad_compare_input_fails_in_one_line_keeping_the_report(champion: Project, override: str,
                                                                 expected: str) -> None:
    before = champion.file("metrics/compare.md").read_bytes()
    failed = champion.dvc("exp", "run", "-S", override, check=False)
    assert failed.returncode != 0 and expected in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    champion.dvc("checkout")  # DVC removed the outs for the run; its cache keeps the last good ones
    assert champion.file("metrics/compare.md").read_bytes() == before


def test_promote_refuses_uncommitted_work(champion: Project) -> None:
    champion.dvc("exp", "run", "-S", "model.C=1")
    refused = promote(champion, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error: promote: commit dvc.lock, params.yaml first"), refused.stderr


@pytest.mark.fast
def test_paired_bootstrap_on_known_predictions() -> None:
    """100 rows: the new model right on 90, the champion on 60, wrong exactly where the new one is wrong too."""
    truth = ["a", "b"] * 50
    flip = {"a": "b", "b": "a"}
    new = [flip[t] if i < 10 else t for i, t in enumerate(truth)]
    old = [flip[t] if i < 40 else t for i, t in enumerate(truth)]
    result = paired_bootstrap(truth, new, old, "accuracy", "multiclass", ["a", "b"], resamples=2000, seed=1)
    assert result.new == 0.9 and result.champion == 0.6 and np.isclose(result.difference, 0.3)
    assert 0.2 < result.low < 0.3 < result.high < 0.4 and result.p_value == 1 / 2001
    same = paired_bootstrap(truth, new, new, "accuracy", "multiclass", ["a", "b"], resamples=100)
    assert same.difference == same.low == same.high == 0 and same.p_value == 1


@pytest.mark.fast
@pytest.mark.parametrize("metric", ["accuracy", "f1", "f1_macro", "f1_weighted"])
def test_the_bootstraps_counted_scores_are_scikit_learns(metric: str) -> None:
    """The bootstrap scores each resample from class counts; scikit-learn's value on the same row weights,
    with a class never predicted and one never true (the zero-division cases)."""
    rng = np.random.default_rng(3)
    binary = metric == "f1"  # a binary task's positive class
    labels = ["a", "b"] if binary else ["a", "b", "c", "d"]
    truth = targets(rng.choice(labels[:2] if binary else labels[:3], size=500), "multiclass", labels)
    pred = targets(rng.choice(labels[:2] if binary else ["a", "b", "d"], size=500), "multiclass", labels)
    counted = counted_score(metric, truth, labels, "b")
    assert counted is not None
    value = counted(pred)
    for _ in range(20):
        weight = np.bincount(rng.integers(0, 500, 500), minlength=500)
        expected = score(metric, truth, pred, labels, "b", weight)
        assert np.isclose(value(weight.astype(float)), expected, rtol=0, atol=1e-12), (metric, expected)


def interval(low: float, high: float) -> PairedBootstrap:
    """A bootstrap result with this interval of the difference (the other fields do not decide)."""
    return PairedBootstrap(new=0.8, champion=0.8 - (low + high) / 2, difference=(low + high) / 2, low=low, high=high,
                           p_value=0.5)


@pytest.mark.fast
@pytest.mark.parametrize(("low", "high", "params", "expected", "reason"), [
    (0.02, 0.08, {}, "promote", "the new model is better: the 95% interval of the difference lies above 0"),
    (-0.08, -0.02, {}, "keep", "the new model is worse: the 95% interval of the difference lies below 0"),
    # inconclusive: the interval spans the threshold, however far its upper end reaches
    (-0.02, 0.30, {}, "keep", "no clear gain: the 95% interval of the difference does not lie above 0"),
    (0.0, 0.05, {}, "keep", "no clear gain: the 95% interval of the difference does not lie above 0"),
    # min_gain: the whole interval must clear it, not just the difference or the upper end
    (0.02, 0.08, {"min_gain": 0.03}, "keep",
     "no clear gain: the 95% interval of the difference does not lie above 0.03"),
    (0.04, 0.08, {"min_gain": 0.03}, "promote",
     "the new model is better: the 95% interval of the difference lies above 0.03"),
    (-0.01, -0.001, {"min_gain": 0.03}, "keep", "the new model is worse: the 95% interval of the difference lies below 0"),
    (0.02, 0.08, {"level": 0.9}, "promote", "the new model is better: the 90% interval of the difference lies above 0"),
])
def test_decision_needs_the_whole_interval_above_min_gain(low: float, high: float, params: dict, expected: str,
                                                          reason: str) -> None:
    assert decide(interval(low, high), CompareParams(**params)) == (expected, reason)


@pytest.mark.fast
def test_no_champion_means_promote() -> None:
    assert decide(None, CompareParams(min_gain=0.5)) == ("promote", "there is no champion yet")


@pytest.mark.fast
def test_a_higher_level_widens_the_interval_and_can_turn_promote_into_keep() -> None:
    """200 rows: the new model right on 180, the champion on 170 (30 rows where they disagree)."""
    truth = ["a", "b"] * 100
    flip = {"a": "b", "b": "a"}
    new = [flip[t] if i < 20 else t for i, t in enumerate(truth)]
    old = [flip[t] if i < 10 or 20 <= i < 40 else t for i, t in enumerate(truth)]
    results = {level: paired_bootstrap(truth, new, old, "accuracy", "multiclass", ["a", "b"], resamples=2000, seed=1,
                                       level=level) for level in (0.9, 0.95)}
    assert results[0.95].low < results[0.9].low < results[0.9].high < results[0.95].high
    assert decide(results[0.9], CompareParams(level=0.9))[0] == "promote"
    assert decide(results[0.95], CompareParams(level=0.95))[0] == "keep"


def test_better_challenger_is_promoted_worse_is_kept(own_registry: Project) -> None:
    """It promotes a new champion: in its own copy of the registry."""
    champion = own_registry
    head = champion.git("rev-parse", "HEAD").stdout.strip()

    champion.dvc("exp", "run", "-S", "model.C=1")
    better = decision(champion)
    assert better["decision"] == "promote" and better["champion_rev"] == head
    assert better["low"] > 0 and better["p_value"] < 0.05 and better["difference"] > 0.05
    report = champion.file("metrics/compare.md").read_text()
    assert "`text-classifier` v0.0.1 in stage `prod`" in report and "its own predictions on this same test split" in report
    assert "**Decision: promote.**" in report

    champion.dvc("exp", "run", "-S", "model.C=0.01")
    worse = decision(champion)
    assert worse["decision"] == "keep" and worse["high"] < 0
    assert "**Decision: keep.** The new model is worse" in champion.file("metrics/compare.md").read_text()
    # promote does nothing on keep (after committing, so that it gets as far as reading the decision)
    champion.commit("worse model")
    assert "keep: the new model is worse" in promote(champion).stdout
    assert tags(champion) == ["text-classifier#prod#1", "text-classifier@v0.0.1"]

    # The better one, committed and promoted, becomes the champion; compared with itself it is kept.
    champion.dvc("exp", "run", "-S", "model.C=1")
    champion.commit("better model")
    assert "v0.0.2" in promote(champion).stdout
    assert {"text-classifier@v0.0.2", "text-classifier#prod#2"} <= set(tags(champion))
    shown = champion.run(str(Path(sys.executable).parent / "gto"), "show", "text-classifier@greatest").stdout
    assert "v0.0.2" in shown and "prod" in shown
    champion.dvc("repro", "-f", "-s", "compare")
    same = decision(champion)
    assert same["decision"] == "keep" and same["difference"] == 0


def test_a_champion_of_another_task_is_kept_without_a_comparison(own_registry: Project) -> None:
    """The issue's probe: the digits preset's experiment while an emotion model holds `prod`. Its labels are
    other labels: nothing compares the two, so compare keeps the champion, says why, and the experiment runs
    to its end."""
    project = own_registry
    project.tool("preset", "digits", check=True)
    done = project.dvc("exp", "run", "-S", "model.gamma=0.5", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    result = decision(project)
    assert result["decision"] == "keep" and result["champion"] == "`text-classifier` v0.0.1 in stage `prod`"
    assert result["reason"].startswith("the champion is a model of another task (it is a multiclass model of ")
    assert "this one a multiclass model of 0, 1, 2, 3, 4, 5 and 4 more" in result["reason"]
    assert "low" not in result  # no bootstrap between the two
    assert "**Decision: keep.** The champion is a model of another task" in project.file("metrics/compare.md").read_text()

    # The digits mapped onto the champion's six emotions: the same labels, but it reads texts, this one pixels.
    emotions = ["anger", "fear", "joy", "love", "sadness", "surprise"]
    project.set_params(data={"label_map": {str(digit): emotions[digit % 6] for digit in range(10)}})
    project.dvc("exp", "run")
    result = decision(project)
    assert result["decision"] == "keep" and "(it reads texts; this one numeric features)" in result["reason"]
