"""Fixtures: real projects in temporary git repositories, real datasets from ../shared/datasets."""

from __future__ import annotations

import http.server
import os
import random
import shutil
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest
import yaml
from dvc.utils.serialize import modify_yaml

from benchmarks._project import copy_tracked
from mlkit.core.devices import share_cpus

ROOT = Path(__file__).resolve().parents[1]
DATASETS = (ROOT / ".." / "shared" / "datasets").resolve()
# The stages run as `python -m ...` under DVC: make that the interpreter running the tests.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
       "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
       "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}
# Under `pytest -n N`, N tests run at once: each one's processes share CPUs // N threads, as a sweep's
# experiments do (mlkit/core/devices.py, share_cpus); oversubscribed torch runs take several times longer.
share_cpus(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), ENV)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--shuffle", metavar="SEED", default=None,
                     help="run the test modules, and the tests within each, in an order drawn from SEED "
                          "(order independence; pytest-randomly is not in this environment's index)")


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--shuffle")
    return None if seed is None else f"test order shuffled with seed {seed} (--shuffle {seed} repeats it)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seed = config.getoption("--shuffle")
    if seed is None:
        return
    rng = random.Random(seed)
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:  # module by module, so that module-scoped fixtures are built once
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    order = list(modules)
    rng.shuffle(order)
    items[:] = [item for name in order for item in rng.sample(modules[name], len(modules[name]))]


def dataset(relative: str) -> Path:
    """A file of ../shared/datasets/. Missing: the test skips, with the reason in the summary (`-ra`); under CI
    (CI set, as CI services do) it fails, so that a run without the data cannot pass with its tests skipped."""
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
        result = subprocess.run(args, cwd=self.path, env=ENV, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

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
        sources = self.params()["data"].get("sources") or []
        named = [s.get("path") or s.get("dataset") for s in sources if isinstance(s, dict)]
        files = [name for name in named if isinstance(name, str) and name.startswith("data/sources/")
                 and (self.path / name).exists()]  # as `mlkit import`, which refuses a missing file
        with modify_yaml(self.path / "dvc.yaml") as pipeline:
            deps = pipeline["stages"]["fetch"]["deps"]
            deps[:] = [dep for dep in deps if not str(dep).startswith("data/sources")] + list(dict.fromkeys(files))

    def commit(self, message: str = "test") -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-qm", message)

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
    done = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"git show HEAD:{relative} in {ROOT} failed: {done.stderr.strip()}")
    return done.stdout


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


def copy_project(dest: Path) -> Project:
    """The project's code as it is in the workspace (edits included), with params.yaml as committed."""
    copy_tracked(dest)
    (dest / "params.yaml").write_text(committed("params.yaml"))
    project = Project(dest)
    project.run("git", "init", "-q", "-b", "main")
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


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return emotion_project(tmp_path / "project")


@pytest.fixture
def http_folder(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving a fresh folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
