"""`mlkit retrain` end to end: a project whose source is a `dvc import-url` of a file outside it, a bare git
repository as origin and the default local-folder DVC remote. A weak champion (trained on 200 rows of the
emotion set) is built and promoted once per module; each test starts from it with a fresh origin.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import yaml

from mlkit.modeling.champion import ARTIFACT
from mlkit.testing import Project, copy_project, dataset

SOURCE = "data/sources/upstream/emotion.txt"
CHAMPION_TAGS = [f"{ARTIFACT}#prod#1", f"{ARTIFACT}@v0.0.1"]
NEW_TAGS = [f"{ARTIFACT}#prod#2", f"{ARTIFACT}@v0.0.2"]
BOTH = sorted(CHAMPION_TAGS + NEW_TAGS)


@dataclass
class Setup:
    project: Project
    upstream: Path       # the file the import reads: what a data team would replace
    champion_lines: str  # its content when the champion was trained
    head: str            # the champion's commit


def emotion_lines(count: int) -> list[str]:
    return dataset("emotion/train.txt").read_text().splitlines(keepends=True)[:count]


def tags(project: Project, where: str = "") -> list[str]:
    if where:
        refs = project.git("ls-remote", "--tags", where).stdout.split()[1::2]
        return sorted({r.removeprefix("refs/tags/").removesuffix("^{}") for r in refs})
    return sorted(project.git("tag").stdout.split())


def sha(project: Project, rev: str) -> str:
    return project.git("rev-parse", f"{rev}^{{commit}}").stdout.strip()


def retrain(project: Project, *args: str) -> tuple[int, list[str], str]:
    done = project.tool("retrain", *args)
    print(done.stdout, done.stderr)  # `pytest -s` shows what a user reads
    return done.returncode, done.stdout.splitlines(), done.stderr.strip()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("retrain")
    upstream = root / "upstream" / "emotion.txt"
    upstream.parent.mkdir()
    champion_lines = "".join(emotion_lines(200))
    upstream.write_text(champion_lines)
    project = copy_project(root / "project")
    project.file("params.yaml").write_text(project.file("presets/emotion.yaml").read_text())
    project.set_params(data={"sources": [{"kind": "file", "path": SOURCE, "import_url": "../upstream/emotion.txt",
                                          "format": "lines", "sep": ";"}], "labels": None},
                       compare={"resamples": 300})
    assert project.tool("import").returncode == 0
    project.commit("source imported")  # dvclive (train) needs a commit
    project.dvc("repro")
    project.commit("weak champion: 200 rows")
    done = project.tool("registry", "promote")
    assert done.returncode == 0 and "v0.0.1" in done.stdout, done.stderr
    assert tags(project) == CHAMPION_TAGS
    return Setup(project, upstream, champion_lines, sha(project, "HEAD"))


@pytest.fixture
def champion(registry: Setup, tmp_path: Path) -> Iterator[Setup]:
    """The champion's commit checked out, its source back upstream, and a fresh bare origin holding both."""
    project = registry.project
    origin = tmp_path / "origin.git"
    project.git("init", "-q", "--bare", str(origin))
    project.git("remote", "remove", "origin", check=False)
    project.git("remote", "add", "origin", str(origin))
    project.git("push", "-q", "--follow-tags", "origin", "main")
    yield registry
    registry.upstream.write_text(registry.champion_lines)
    project.git("reset", "-q", "--hard", registry.head)
    project.dvc("checkout", "--force")
    for tag in set(tags(project)) - set(CHAMPION_TAGS):
        project.git("tag", "-d", tag)


def test_a_better_source_is_promoted_and_pushed(champion: Setup) -> None:
    project = champion.project
    champion.upstream.write_text("".join(emotion_lines(1500)))  # 7.5 times the rows: a clearly better model
    code, out, err = retrain(project, "--push")
    assert code == 0, err
    assert out[0] == f"sources: updated {SOURCE}.dvc"
    assert out[1].startswith("pipeline: `dvc repro` ran fetch, split, augment, train, evaluate, compare")
    assert out[2].startswith("commit: ") and out[3].startswith(f"promote: `{ARTIFACT}` v0.0.2")
    assert out[3].endswith("is now in stage `prod`; pushed below") and out[4].startswith("push: "), out
    assert out[-1].startswith("verdict: promoted v0.0.2 to `prod` (test.f1_macro +") and "better" in out[-1], out
    head = sha(project, "HEAD")
    assert head != champion.head and project.git("status", "--porcelain").stdout == ""
    # The stage's tag moved to the new commit, here and on origin, with the commit itself.
    assert tags(project) == BOTH and sha(project, NEW_TAGS[0]) == head
    assert tags(project, "origin") == BOTH
    assert project.git("ls-remote", "origin", "refs/heads/main").stdout.split()[0] == head
    # The new model is on the DVC remote: a clone could pull it.
    lock = yaml.safe_load(project.file("dvc.lock").read_text())
    model = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model")["md5"]
    assert (project.path.parent / "dvc-storage" / "files" / "md5" / model[:2] / model[2:]).is_file()


def test_a_worse_source_is_committed_but_not_promoted(champion: Setup) -> None:
    project = champion.project
    lines = emotion_lines(1500)
    labels = [line.rsplit(";", 1)[1] for line in lines]
    random.Random(0).shuffle(labels)  # a broken export: every text with a random label
    champion.upstream.write_text("".join(line.rsplit(";", 1)[0] + ";" + label for line, label in zip(lines, labels)))
    code, out, err = retrain(project, "--push")
    assert code == 0, err
    assert out[0] == f"sources: updated {SOURCE}.dvc" and out[2].startswith("commit: ")
    assert out[3].startswith("keep: ") and out[-1].startswith("verdict: keep the champion"), out
    head = sha(project, "HEAD")
    assert head != champion.head and project.git("ls-remote", "origin", "refs/heads/main").stdout.split()[0] == head
    assert tags(project) == CHAMPION_TAGS and tags(project, "origin") == CHAMPION_TAGS


def test_unchanged_sources_rejudge_only_then_change_nothing(champion: Setup) -> None:
    """HEAD's compare verdict dates from before v0.0.1 held `prod` (DVC does not track tags): retrain judges
    again, commits that verdict (the champion against itself: keep), and a second run has nothing to do."""
    project = champion.project
    code, out, err = retrain(project)
    assert code == 0, err
    assert out[:2] == ["sources: unchanged (1 import up to date)", "pipeline: `dvc repro` ran compare"]
    assert out[2].startswith("commit: ") and out[3].startswith("keep: ") and out[4].startswith("verdict: keep"), out
    judged = sha(project, "HEAD")
    assert judged != champion.head and tags(project) == CHAMPION_TAGS
    code, out, err = retrain(project)
    assert code == 0, err
    assert out[:2] == ["sources: unchanged (1 import up to date)", "pipeline: up to date"] and len(out) == 4, out
    assert out[-1].startswith("verdict: keep the champion")
    assert sha(project, "HEAD") == judged and tags(project) == CHAMPION_TAGS


def test_a_short_search_replaces_the_parameters_only_when_its_best_trial_beats_them(champion: Setup) -> None:
    project = champion.project
    before = project.params()["model"]["C"]
    code, out, err = retrain(project, "--search-trials", "2", "--space", "model.C=log:0.01:100")
    assert code == 0, err
    found = [line for line in out if line.startswith("search: study retrain-")]
    assert len(found) == 1, out
    match = re.fullmatch(r"search: study (\S+), best (\S+) valid\.f1_macro = ([\d.]+), current parameters ([\d.]+): "
                         r"(kept the current parameters|applied model\.C=(\S+))", found[0])
    assert match, found[0]
    study, best, value, current, _, applied_c = match.groups()
    trials = optuna.load_study(study_name=study, storage=f"sqlite:///{project.file('optuna.db')}").trials
    assert len(trials) == 2 and best in {t.user_attrs["experiment"] for t in trials}
    log = project.git("log", "--format=%s", f"{champion.head}..HEAD").stdout.splitlines()
    if float(value) > float(current):  # applied, rerun and committed: HEAD holds the trial's parameters
        assert applied_c is not None and log[0] == f"retrain: parameters of {best}", log
        assert project.params()["model"]["C"] == pytest.approx(float(applied_c))
        assert "Data and pipelines are up to date" in project.dvc("status").stdout
    else:
        assert applied_c is None and project.params()["model"]["C"] == before
        assert not [m for m in log if m.startswith("retrain: parameters")], log
    assert out[-1].startswith("verdict: "), out


def test_a_dvc_remote_that_is_down_stops_the_push_before_git(champion: Setup, tmp_path: Path) -> None:
    project = champion.project
    (tmp_path / "a-file").write_text("")  # the remote's folder would lie under a file: every write fails
    project.dvc("remote", "modify", "--local", "local", "url", str(tmp_path / "a-file" / "storage"))
    try:
        code, out, err = retrain(project, "--push")
    finally:
        project.file(".dvc/config.local").unlink()
    assert code == 1 and out[0] == "sources: unchanged (1 import up to date)", out
    assert err.startswith("error: push: `dvc push` failed (") and err.endswith(
        "the commit and tags are here, once it is back: `dvc push && git push --follow-tags origin main`"), err
    judged = sha(project, "HEAD")  # compare's new verdict, committed before the push
    assert judged != champion.head and project.git("status", "--porcelain").stdout == ""
    assert project.git("ls-remote", "origin", "refs/heads/main").stdout.split()[0] == champion.head


def test_refusals_before_anything_changes(champion: Setup, tmp_path: Path) -> None:
    project = champion.project
    champion.upstream.write_text("".join(emotion_lines(1500)))
    params = project.file("params.yaml").read_text()
    project.file("params.yaml").write_text(params + "# an edit of my own\n")
    assert retrain(project) == (1, [], "error: uncommitted changes in params.yaml: retrain commits what it changes "
                                        "and would take them along; commit or `git stash` them first")
    project.file("params.yaml").write_text(params)

    project.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    code, out, err = retrain(project, "--push")
    assert code == 1 and out == [] and err.startswith("error: --push: git remote origin cannot be reached (")
    assert err.endswith("; nothing was changed")

    shutil.move(champion.upstream, tmp_path / "moved")  # the upstream is down
    code, out, err = retrain(project)
    assert code == 1 and out == [] and err.startswith("error: sources: `dvc update` failed: "), err
    assert "upstream/emotion.txt" in err
    assert sha(project, "HEAD") == champion.head and project.git("status", "--porcelain").stdout == ""
    shutil.move(tmp_path / "moved", champion.upstream)


def workflow_runs() -> list[str]:
    """The `run:` of each step of the scheduled workflow, in order."""
    from mlkit.testing import ROOT

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "retrain.yml").read_text())
    return [step.get("run", "").strip() for step in workflow["jobs"]["retrain"]["steps"]]


def test_the_weekly_workflow_on_the_shipped_project_says_in_one_line_what_it_needs(tmp_path: Path) -> None:
    """The workflow's mlkit steps, in its order and stopping at the first that fails (as Actions does), on a
    copy of the shipped project (default params.yaml: an embedded dataset, the folder remote) with an origin.
    Its set-up, git identity and `dvc pull` steps are not retrain's."""
    project = copy_project(tmp_path / "project")
    project.commit("as shipped")
    project.git("init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"))
    project.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    project.git("push", "-q", "origin", "main")
    head = sha(project, "HEAD")
    needs = ("error: this project is not ready for scheduled retraining: it needs an imported source to "
             "refresh (`import_url` in params.yaml, then `mlkit import`; the shipped presets embed their data); "
             "and a DVC remote that outlives this runner: the default, `local`, is a folder on it "
             f"({tmp_path / 'dvc-storage'}): `mlkit remote add storage s3://BUCKET/PREFIX --default` "
             "(docs/tutorials/remote-storage.md); nothing was changed")
    ran = []
    for run in [r for r in workflow_runs() if r.startswith("mlkit ")]:
        code, out, err = retrain(project, *run.split()[2:]) if run.startswith("mlkit retrain") else (
            (done := project.tool(*run.split()[1:])).returncode, done.stdout.splitlines(), done.stderr.strip())
        ran.append((run, code, err))
        if code != 0:
            break
    assert ran == [("mlkit remote secrets", 0, ""), ("mlkit retrain --check --push --fresh-runner", 1, needs)], ran
    # Without the check step, the retrain step itself says the same before it changes anything.
    assert retrain(project, "--push", "--fresh-runner") == (1, [], needs)
    assert sha(project, "HEAD") == head and project.git("status", "--porcelain").stdout == ""
    assert project.git("ls-remote", "origin", "refs/heads/main").stdout.split()[0] == head and not tags(project)
    assert retrain(project)[2].startswith("error: this project is not ready for scheduled retraining: it needs an "
                                          "imported source")  # a folder remote is fine where the machine stays


def test_check_changes_nothing_on_a_ready_project(champion: Setup) -> None:
    project = champion.project
    champion.upstream.write_text("".join(emotion_lines(1500)))  # new data it would retrain on
    code, out, err = retrain(project, "--check", "--push")
    assert (code, out, err) == (0, ["ready: 1 imported source(s), branch main, origin answers"], "")
    assert sha(project, "HEAD") == champion.head and project.git("status", "--porcelain").stdout == ""


@pytest.mark.fast
def test_the_workflow_checks_readiness_before_any_work() -> None:
    from mlkit.testing import ROOT

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "retrain.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["retrain"]["steps"]]
    check = runs.index("mlkit retrain --check --push --fresh-runner")
    assert check < min(i for i, run in enumerate(runs) if "dvc pull" in run)
    assert runs[-1] == "mlkit retrain --push --fresh-runner"
