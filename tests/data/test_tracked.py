"""Every source fetch reads is tracked by DVC: presets whose data lies outside the repository run in the queue
from a fresh clone; a changed file or URL source, after `dvc update`, reruns fetch; untracked sources are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from mlkit.core.errors import PipelineError
from mlkit.core.params import FileSource, HubSource, validate
from mlkit.data.tracked import check_tracked, dvc_location
from mlkit.testing import DATASETS, ROOT, Project, copy_project, dataset
from mlkit.tools.experiments import queue as ex

QUICK = ["-S", "data.limit=600", "-S", "model.type=linear_svc"]


def fresh_clone(tmp_path: Path) -> Project:
    """What a clone holds (the tracked files), beside a `shared` folder as in the README's layout."""
    (tmp_path / "shared").symlink_to(DATASETS.parent, target_is_directory=True)
    project = copy_project(tmp_path / "project")
    project.commit("fresh clone")
    return project


def card(project: Project) -> dict:
    return json.loads(project.file("metrics/data_card.json").read_text())


def lines_source(path: str, import_url: str) -> dict:
    return {"kind": "file", "path": path, "import_url": import_url, "format": "lines", "sep": ";"}


def own_data(project: Project, source: dict) -> None:
    """The emotion preset's settings on one source of our own."""
    project.file("params.yaml").write_text(project.file("presets/emotion.yaml").read_text())
    project.set_params(data={"sources": [source], "labels": None})


def fetch_reruns(project: Project, dvcfile: str) -> None:
    """`dvc update` takes the changed source in; fetch is then out of date and `dvc repro fetch` reruns it."""
    assert "fetch" not in project.dvc("status", "fetch").stdout  # frozen imports: nothing changes before update
    project.dvc("update", dvcfile)
    assert "changed deps" in project.dvc("status", "fetch").stdout
    assert "Running stage 'fetch'" in project.dvc("repro", "fetch").stdout


# ------------------------------------------------------------------ the queue, from a fresh clone
def test_queued_experiments_on_presets_with_data_outside_the_repository(tmp_path: Path) -> None:
    # The issue: a queued run executes in a copy under .dvc/tmp/exps/ where ../shared/datasets/... did
    # not resolve. Now `mlkit preset` imports the data; the queue checks it out from the DVC cache.
    for preset in ("emotion/train.txt", "disaster_tweets/train.csv"):
        dataset(preset)
    project = fresh_clone(tmp_path)
    revs = []
    try:
        for preset in ("emotion", "disaster_tweets"):
            applied = project.tool("preset", preset)
            assert applied.returncode == 0, applied.stderr
            assert f"imported: data/sources/{preset}/train" in applied.stdout
            project.git("commit", "-qam", f"{preset} preset")  # the README's recipe: the .dvc files are staged
            assert project.git("status", "--porcelain").stdout == ""
            before = {e["rev"] for e in ex.queue_status(project.path)}
            project.dvc("exp", "run", "--queue", "-n", preset, *QUICK)
            revs += [e["rev"] for e in ex.queue_status(project.path) if e["rev"] not in before]
        outcomes = ex.wait(revs, 2, project.path, timeout=240, stop=True)
        failed = {o.name: ex.failure_log(o.rev, project.path) for o in outcomes if o.status != "Success"}
        assert not failed, failed
    finally:
        project.dvc("queue", "stop", "--kill", check=False)
    shown = project.dvc("exp", "show", "-A", "--json").stdout
    assert '"emotion"' in shown and '"disaster_tweets"' in shown


# ------------------------------------------------------------------ a changed source reruns fetch
def test_a_changed_file_outside_the_repository_reruns_fetch_after_dvc_update(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    lines = dataset("emotion/val.txt").read_text().splitlines(keepends=True)
    (mine / "val.txt").write_text("".join(lines[:300]))
    project = copy_project(tmp_path / "project")
    own_data(project, lines_source("data/sources/mine/val.txt", "../mine/val.txt"))
    imported = project.tool("import")
    assert imported.returncode == 0 and "imported: data/sources/mine/val.txt.dvc" in imported.stdout, imported.stderr
    recorded = yaml.safe_load(project.file("data/sources/mine/val.txt.dvc").read_text())["deps"][0]["path"]
    assert recorded == "../../../../mine/val.txt" == dvc_location("../mine/val.txt", "data/sources/mine/val.txt")
    assert "already in place" in project.tool("import").stdout  # a second run imports nothing
    project.commit("own data, imported")
    project.dvc("repro", "fetch")
    assert card(project)["rows"] <= 300

    (mine / "val.txt").write_text("".join(lines[:500]))
    fetch_reruns(project, "data/sources/mine/val.txt.dvc")
    assert 300 < card(project)["rows"] <= 500

    # A fresh clone after `dvc pull` reads the same bytes, without the file outside the repository.
    project.commit("updated source")
    project.dvc("push")
    shutil.rmtree(mine)
    clone = Project(tmp_path / "clone")
    project.git("clone", "-q", str(project.path), str(clone.path))
    clone.dvc("pull", "--with-deps", "fetch")  # the import and fetch's outputs
    assert clone.file("data/sources/mine/val.txt").read_bytes() == "".join(lines[:500]).encode()
    assert "up to date" in clone.dvc("status", "--with-deps", "fetch").stdout


def test_dvc_update_of_a_changed_url_source(tmp_path: Path, http_folder) -> None:
    served, base = http_folder
    lines = dataset("emotion/val.txt").read_text().splitlines(keepends=True)
    (served / "val.txt").write_text("".join(lines[:300]))
    project = copy_project(tmp_path / "project")
    own_data(project, lines_source("data/sources/web/val.txt", f"{base}/val.txt"))
    imported = project.tool("import")
    assert imported.returncode == 0, imported.stderr
    project.commit("URL source, imported")
    project.dvc("repro", "fetch")
    assert card(project)["rows"] <= 300

    (served / "val.txt").write_text("".join(lines[:450]))  # other bytes, other size
    fetch_reruns(project, "data/sources/web/val.txt.dvc")
    assert 300 < card(project)["rows"] <= 450
    assert project.file("data/sources/web/val.txt").read_text() == "".join(lines[:450])


def test_a_preset_whose_data_is_missing_changes_nothing(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")  # no ../shared beside this copy
    params = project.file("params.yaml").read_text()
    done = project.tool("preset", "emotion")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == ("error: data.sources[0].import_url: ../shared/datasets/emotion/train.txt: "
                                   "no such file (relative to the repository root)")
    assert project.file("params.yaml").read_text() == params
    assert not project.file("data/sources/emotion").exists()


# ------------------------------------------------------------------ untracked sources are refused (unit)
@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/sources").mkdir(parents=True)
    return tmp_path


def refused(spec, expected: str) -> None:
    with pytest.raises(PipelineError) as caught:
        check_tracked([spec])
    assert expected in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


@pytest.mark.fast
@pytest.mark.parametrize("path", ["../shared/datasets/emotion/train.txt", "/data/emotion.txt",
                                  "data/sources/../../x.txt", "data/x.txt"])
def test_a_file_outside_data_sources_is_refused(workspace: Path, path: str) -> None:
    refused(FileSource(kind="file", path=path), f"data.sources[0].path: {path} lies outside data/sources/")


@pytest.mark.fast
def test_an_import_needs_its_dvc_file_and_the_same_origin(workspace: Path) -> None:
    (workspace / "data/sources/a.txt").write_text("hi;joy\n")
    spec = FileSource(kind="file", path="data/sources/a.txt", import_url="https://example.org/a.txt")
    refused(spec, "data/sources/a.txt.dvc is missing: run `mlkit import`")
    (workspace / "data/sources/a.txt.dvc").write_text(yaml.safe_dump(
        {"frozen": True, "deps": [{"path": "https://example.org/b.txt"}], "outs": [{"path": "a.txt"}]}))
    refused(spec, "data/sources/a.txt.dvc imports https://example.org/b.txt, params say https://example.org/a.txt")
    check_tracked([spec.model_copy(update={"import_url": "https://example.org/b.txt"})])
    check_tracked([FileSource(kind="file", path="data/sources/a.txt")])  # copied there: git or `dvc add`


@pytest.mark.fast
def test_a_hub_dataset_must_be_pinned_to_a_commit(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    sha = "0123456789abcdef0123456789abcdef01234567"
    # The Hub's answer, mocked: this test is about the pin, not the network.
    monkeypatch.setattr("huggingface_hub.HfApi.dataset_info", lambda self, name, **kw: SimpleNamespace(sha=sha))
    refused(HubSource(kind="hub", dataset="dair-ai/emotion"),
            f"data.sources[0].revision: hub dataset dair-ai/emotion must be pinned to a commit (40 hex characters), "
            f"so that DVC reruns fetch exactly when it changes; its main branch is now at {sha}")
    refused(HubSource(kind="hub", dataset="dair-ai/emotion", revision="main"), "(got 'main', which can move)")
    check_tracked([HubSource(kind="hub", dataset="dair-ai/emotion", revision=sha)])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the offline cache: what it holds is what every run reads
    check_tracked([HubSource(kind="hub", dataset="dair-ai/emotion")])


@pytest.mark.fast
def test_a_local_hub_folder_must_lie_under_data_sources(workspace: Path, tmp_path: Path) -> None:
    (workspace / "data/sources/hubset").mkdir()
    check_tracked([HubSource(kind="hub", dataset="data/sources/hubset")])
    outside = tmp_path.parent / f"{tmp_path.name}-hub"
    outside.mkdir()
    refused(HubSource(kind="hub", dataset=str(outside)), f"data.sources[0].dataset: the folder {outside} lies outside")


@pytest.mark.fast
@pytest.mark.parametrize("kind", ["url", "s3"])
def test_network_kinds_point_to_an_import(kind: str) -> None:
    raw = {"data": {"sources": [{"kind": kind, "url": f"{kind}://example.org/a.csv"}]}}
    with pytest.raises(PipelineError, match=rf"data.sources\[0\]: kind '{kind}' is read at run time, unseen by DVC; "
                                            r"make it an import: `kind: file`"):
        validate(raw)


@pytest.mark.fast
def test_every_preset_reads_only_tracked_paths() -> None:
    for preset in sorted((ROOT / "presets").glob("*.yaml")):
        for source in validate(yaml.safe_load(preset.read_text())).data.sources:
            if isinstance(source, FileSource):
                assert source.path.startswith("data/sources/") and source.import_url, preset



def test_fetch_depends_on_exactly_the_files_its_sources_name(tmp_path: Path) -> None:
    """A file a user copies beside the sources changes nothing (a colleague's clone stays up to date); a file a
    source names but dvc.yaml does not declare is refused before any reading; `mlkit import` declares it."""
    project = copy_project(tmp_path / "project")
    rows = "text,label\n" + "".join(f"text number {i},{'ab'[i % 2]}\n" for i in range(40))
    (tmp_path / "t.csv").write_text(rows)
    params = project.params()
    params["data"] = {"sources": [{"kind": "file", "path": project.source(tmp_path / "t.csv")}]}
    (project.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    refused = project.stage("fetch")
    assert refused.returncode != 0 and refused.stderr.strip().splitlines()[-1] == (
        "error: dvc.yaml: fetch does not depend on data/sources/t.csv (data.sources[0].path), so DVC would not "
        "rerun it when that file changes; `mlkit import` declares it (then commit dvc.yaml)")
    declared = project.tool("import", check=True)
    assert "dvc.yaml: fetch depends on data/sources/t.csv" in declared.stdout
    assert "data/sources/t.csv" in yaml.safe_load(project.file("dvc.yaml").read_text())["stages"]["fetch"]["deps"]
    project.commit("own data")
    project.dvc("repro", "fetch")
    project.commit("fetched")
    (tmp_path / "unused.csv").write_text(rows)
    project.source(tmp_path / "unused.csv")  # copied beside it, named by no source
    status = project.dvc("status", "fetch", "--json")
    assert json.loads(status.stdout) == {}, status.stdout
    assert project.tool("import", check=True).stdout.startswith("nothing to import")  # dvc.yaml already right
