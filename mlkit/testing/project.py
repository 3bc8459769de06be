"""Real projects for tests: copies of the git-tracked project in their own git repositories, single-stage
workspaces, and the datasets of ../shared/datasets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from mlkit.testing.commands import ENV, ROOT, dvc, git, run

DATASETS = (ROOT / ".." / "shared" / "datasets").resolve()


def dataset(relative: str) -> Path:
    """A file of ../shared/datasets/. Missing: the test skips, with the reason in the summary (`-ra`); under CI
    (CI set, as CI services do) it fails, so that a run without the data cannot pass with its tests skipped."""
    import pytest  # here, not at the top: benchmarks import this module without pytest's machinery

    path = DATASETS / relative
    if not path.is_file():
        reason = f"shared dataset {relative} not found at {path}"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI is set, so the tests that need it fail instead of skipping "
                        "(put the datasets in ../shared/datasets/, see its README)", pytrace=False)
        pytest.skip(f"{reason} (CI unset: skipped; with CI=true this fails)")
    return path


class Project:
    """A copy of the git-tracked project in its own git repository, driven by real commands."""

    def __init__(self, path: Path):
        self.path = path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(*args, cwd=self.path, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return git(*args, cwd=self.path, check=check)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return dvc(*args, cwd=self.path, check=check)

    def stage(self, name: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", f"stages.{name}", *args, check=check)

    def tool(self, name: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """`mlkit NAME ARGS`, run from this copy's code (`python -m mlkit`, as the README allows)."""
        return self.run(sys.executable, "-m", "mlkit", name, *args, check=check)

    def params(self) -> dict:
        return yaml.safe_load((self.path / "params.yaml").read_text())

    def set_params(self, **sections: dict) -> None:
        """Merge values into params.yaml sections, e.g. set_params(model={"C": 2}); new sources are declared
        as fetch's deps in dvc.yaml, as `mlkit import` declares them."""
        params = self.params()
        for section, values in sections.items():
            params.setdefault(section, {}).update(values)
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        if "data" in sections:
            self.declare_sources()

    def declare_sources(self) -> None:
        """fetch's deps in dvc.yaml: its code, and each file params.yaml's sources name under data/sources/."""
        from dvc.utils.serialize import modify_yaml  # here: importing dvc takes a while, few callers need it

        sources = self.params()["data"].get("sources") or []
        named = [s.get("path") or s.get("dataset") for s in sources if isinstance(s, dict)]
        files = [name for name in named if isinstance(name, str) and name.startswith("data/sources/")
                 and (self.path / name).exists()]  # as `mlkit import`, which refuses a missing file
        with modify_yaml(self.path / "dvc.yaml") as pipeline:
            deps = pipeline["stages"]["fetch"]["deps"]
            deps[:] = [dep for dep in deps if not str(dep).startswith("data/sources")] + list(dict.fromkeys(files))

    def commit(self, message: str = "test") -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def file(self, relative: str) -> Path:
        return self.path / relative

    def source(self, path: Path, name: str | None = None) -> str:
        """Copy a data file into data/sources/ (fetch reads only what DVC tracks); its path for params."""
        relative = f"data/sources/{name or path.name}"
        self.file(relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.file(relative))
        return relative


def committed(relative: str) -> str:
    """A file as the last commit holds it: tests never read the workspace's params.yaml, which `mlkit preset`
    or `dvc exp run` may have changed."""
    done = git("show", f"HEAD:{relative}", cwd=ROOT, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git show HEAD:{relative} in {ROOT} failed: {done.stderr.strip()}")
    return done.stdout


def copy_tracked(project: Path) -> None:
    """Copy the tracked and untracked-but-not-ignored files: what a fresh clone (plus your edits) holds."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a deleted-but-tracked file is listed too
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)


# ---------------------------------------------------------------- one stage, outside DVC
MULTICLASS = "text,label\n" + "".join(f"text number {i},{'abc'[i % 3]}\n" for i in range(60))
BINARY = "text,label\n" + "".join(f"text number {i},{i % 2}\n" for i in range(60))


def workspace(tmp_path: Path, rows: str | None, **sections: dict) -> Path:
    """A folder for running one stage: params.yaml (the committed default, `sections` merged in) and
    data/sources/t.csv holding `rows`."""
    params = yaml.safe_load(committed("params.yaml"))
    params["data"] = {"sources": [{"kind": "file", "path": "data/sources/t.csv"}]}
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "data/sources").mkdir(parents=True)
    if rows is not None:
        (tmp_path / "data/sources/t.csv").write_text(rows)
    return tmp_path


def stage(folder: Path, name: str) -> subprocess.CompletedProcess:
    """`python -m stages.NAME` in `folder`, with this project's code, outside DVC."""
    env = {**ENV, "PYTHONPATH": str(ROOT)}
    env.pop("DVC_STAGE", None)
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=folder, env=env, capture_output=True,
                          text=True)


def trial_accuracies(exp_show_json: str, study: str) -> dict[str, float]:
    """Experiment name -> valid.accuracy of a search study's trials (named STUDY-tNNN), from the output of
    `dvc exp show --json -A`."""
    found = {}
    for commit in json.loads(exp_show_json):
        for exp in commit.get("experiments") or []:
            if (exp.get("name") or "").startswith(f"{study}-t"):
                data = exp["revs"][0]["data"]
                found[exp["name"]] = data["metrics"]["metrics/eval/metrics.json"]["data"]["valid"]["accuracy"]
    return found


def copy_project(dest: Path) -> Project:
    """The project's code as it is in the workspace (edits included), with params.yaml as committed."""
    copy_tracked(dest)
    (dest / "params.yaml").write_text(committed("params.yaml"))
    project = Project(dest)
    project.git("init", "-q", "-b", "main")
    return project


def digits_project(dest: Path) -> Project:
    """The project on the digits preset (seconds per run), committed: queued experiments start from the commit."""
    project = copy_project(dest)
    (project.path / "params.yaml").write_text((ROOT / "presets" / "digits.yaml").read_text())
    project.commit("digits")
    return project


def emotion_project(dest: Path) -> Project:
    """The project, committed, on a 1,500-row slice of the real emotion set (fast enough for many runs)."""
    project = copy_project(dest)
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion.yaml").read_text())
    project.set_params(data={
        "sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")), "format": "lines",
                     "sep": ";"}],
        "limit": 1500,
    })
    project.commit("project under test")
    return project
