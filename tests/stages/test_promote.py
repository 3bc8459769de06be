"""`mlkit registry promote` refuses what the registry must not version, and `compare.champion_rev` works.

On the digits preset (seconds per run). One module project is built, run, committed and promoted once; each
test starts from that state and puts it back, so the tests run in any order.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from mlkit.testing import Project, digits_project

FIRST_TAGS = ["text-classifier#prod#1", "text-classifier@v0.0.1"]


def promote(project: Project) -> tuple[int, str, str]:
    done = project.run(sys.executable, "-m", "mlkit", "registry", "promote", check=False)
    return done.returncode, done.stdout, done.stderr.strip()


def tags(project: Project) -> list[str]:
    return project.git("tag").stdout.split()


def compared(project: Project) -> dict:
    return json.loads(project.file("metrics/compare.json").read_text())


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    """digits, run, committed and promoted to `prod` (no champion before); and that commit's sha."""
    project = digits_project(tmp_path_factory.mktemp("promote") / "project")
    project.dvc("repro")
    assert compared(project)["champion_rev"] is None
    project.commit("digits run")
    code, out, err = promote(project)
    assert code == 0 and "v0.0.1" in out, err
    assert tags(project) == FIRST_TAGS
    return project, project.git("rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def promoted(registry: tuple[Project, str]) -> Iterator[tuple[Project, str]]:
    project, head = registry
    yield project, head
    project.git("reset", "-q", "--hard", head)
    project.dvc("checkout", "--force")
    for tag in set(tags(project)) - set(FIRST_TAGS):
        project.git("tag", "-d", tag)


def test_promote_refuses_when_the_stage_changed_hands_since_compare(promoted: tuple[Project, str]) -> None:
    """compare.json was written when `prod` was empty; now v0.0.1 holds it: that verdict is about another champion."""
    project, head = promoted
    code, _, err = promote(project)
    assert code == 1
    assert err == ("error: promote: stage `prod` changed since compare ran (now `text-classifier` v0.0.1 in stage "
                   "`prod`); run `dvc repro -f -s compare`")
    assert tags(project) == FIRST_TAGS
    # Doing what it says: compare against the champion, commit, and promote reads the new verdict.
    project.dvc("repro", "-f", "-s", "compare")
    assert compared(project)["champion_rev"] == head and compared(project)["decision"] == "keep"
    project.commit("compare against v0.0.1")
    code, out, err = promote(project)
    assert code == 0 and out.startswith("keep: no clear gain"), err
    assert tags(project) == FIRST_TAGS


def test_promote_refuses_uncommitted_params(promoted: tuple[Project, str]) -> None:
    project, _ = promoted
    project.set_params(model={"gamma": 0.002})
    code, _, err = promote(project)
    assert code == 1 and err == "error: promote: commit params.yaml first; the registry versions commits"
    assert tags(project) == FIRST_TAGS


def test_promote_refuses_a_stale_pipeline(promoted: tuple[Project, str]) -> None:
    """params committed without `dvc repro`: the outputs (and compare's verdict) are not HEAD's."""
    project, _ = promoted
    project.set_params(model={"gamma": 0.002})
    project.commit("new gamma, not run")
    code, _, err = promote(project)
    assert code == 1 and err.startswith("error: promote: the pipeline is not up to date (") and "train" in err, err
    assert err.endswith("run `dvc repro` and commit dvc.lock first")
    assert tags(project) == FIRST_TAGS


def test_champion_rev_compares_with_that_commit_instead_of_the_registry(promoted: tuple[Project, str]) -> None:
    project, good = promoted
    # gamma 0.5 collapses digits (docs/studies/resplit.md: about 0.10 test accuracy): clearly worse than the commit `good`
    project.dvc("exp", "run", "-S", "model.gamma=0.5", "-S", f"compare.champion_rev={good[:10]}")
    worse = compared(project)
    assert worse["champion"] == f"git revision `{good[:10]}`" and worse["champion_rev"] == good
    assert worse["decision"] == "keep" and worse["high"] < 0
    assert f"Champion: git revision `{good[:10]}`" in project.file("metrics/compare.md").read_text()
    project.commit("collapsed model")
    bad = project.git("rev-parse", "HEAD").stdout.strip()
    code, out, _ = promote(project)  # champion_rev set: no registry check, the verdict decides
    assert code == 0 and out.startswith("keep: the new model is worse") and tags(project) == FIRST_TAGS

    # The other way round: the good settings against the collapsed commit are clearly better.
    project.dvc("exp", "run", "-S", "model.gamma=0.001", "-S", f"compare.champion_rev={bad}")
    better = compared(project)
    assert better["champion_rev"] == bad and better["decision"] == "promote" and better["low"] > 0.5
