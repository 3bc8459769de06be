"""What fetch may read: only what DVC tracks, so a queued or `--temp` experiment, a fresh clone after
`dvc pull` and CI all read the same bytes, and a changed source reruns fetch.

- a file lies under data/sources/ and is one of fetch's deps in dvc.yaml (`mlkit import` declares each file
  the sources name, and only those): copied there (git or `dvc add`), or brought in with `dvc import-url`
  (`import_url` in params; `mlkit import` runs it, `dvc update` refreshes it);
- a Hub dataset is pinned to a commit (`revision`, 40 hex characters), or is a local folder under
  data/sources/, or comes from the offline cache (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.hub import dataset_sha
from mlkit.core.params import FileSource, HubSource, Source

COMMIT = re.compile(r"[0-9a-f]{40}")
OFFLINE = ("1", "ON", "YES", "TRUE")


def under_sources(path: str) -> bool:
    """A relative path inside data/sources/ (not the folder itself, no `..`)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    root = PurePosixPath(paths.SOURCES).parts
    return not os.path.isabs(path) and ".." not in parts and parts[: len(root)] == root and len(parts) > len(root)


def is_url(location: str) -> bool:
    return "://" in location


def dvc_location(import_url: str, path: str) -> str:
    """`import_url` as DVC records it in PATH.dvc: a URL as is, an absolute path normalised, a relative path
    (relative to the repository root in params) made relative to the .dvc file's folder, as DVC reads it."""
    if is_url(import_url):
        return import_url
    if os.path.isabs(import_url):
        return os.path.normpath(import_url)
    folder = posixpath.dirname(path.replace("\\", "/"))
    return posixpath.relpath(posixpath.normpath(import_url.replace("\\", "/")), folder)


def dvc_file(path: str) -> Path:
    return Path(f"{path}.dvc")


def recorded_import(path: str) -> str | None:
    """Where PATH.dvc says DVC imported PATH from; None without a .dvc file (or a `dvc add`ed one)."""
    file = dvc_file(path)
    if not file.is_file():
        return None
    try:
        stage: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PipelineError(f"{file}: not valid YAML ({exc})") from None
    deps = stage.get("deps") if isinstance(stage, dict) else None
    return str(deps[0]["path"]) if deps else None


def check_file(spec: FileSource, key: str) -> None:
    if not under_sources(spec.path):
        name = PurePosixPath(spec.path.replace("\\", "/")).name or "NAME"
        raise PipelineError(
            f"{key}.path: {spec.path} lies outside {paths.SOURCES}/, which DVC tracks for fetch (a queued or "
            f"--temp experiment, a clone or CI would not see it); import it: `path: {paths.SOURCES}/{name}` with "
            f"`import_url: {spec.path}`, then `mlkit import`")
    if spec.import_url is not None:
        expected = dvc_location(spec.import_url, spec.path)
        recorded = recorded_import(spec.path)
        if recorded is None:
            raise PipelineError(f"{key}: {spec.path} is to be imported from {spec.import_url}, but "
                                f"{dvc_file(spec.path)} "
                                "is missing: run `mlkit import` and commit the .dvc file")
        if recorded != expected:
            raise PipelineError(f"{key}: {dvc_file(spec.path)} imports {recorded}, params say {spec.import_url}: "
                                "run `mlkit import` and commit the .dvc file")
    if not Path(spec.path).is_file():
        how = ("`dvc pull` or `mlkit import`" if spec.import_url
               else "copy it there (`dvc add` for a big one), or `dvc pull`")
        raise PipelineError(f"{spec.path}: no such file ({key}); {how}")


def check_hub(spec: HubSource, key: str) -> None:
    if Path(spec.dataset).expanduser().exists():
        if not under_sources(spec.dataset):
            raise PipelineError(f"{key}.dataset: the folder {spec.dataset} lies outside {paths.SOURCES}/, which DVC "
                                f"tracks for fetch; copy it there or `dvc import-url` it into {paths.SOURCES}/")
        return
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in OFFLINE:
        return  # the local Hugging Face cache: what it holds is what every run here reads
    if spec.revision is not None and COMMIT.fullmatch(spec.revision):
        return
    sha = dataset_sha(spec.dataset)
    now = f"; its main branch is now at {sha}" if sha else ""
    got = f" (got {spec.revision!r}, which can move)" if spec.revision else ""
    raise PipelineError(f"{key}.revision: hub dataset {spec.dataset} must be pinned to a commit (40 hex characters)"
                        f"{got}, so that DVC reruns fetch exactly when it changes{now}")


def source_paths(sources: list[Source]) -> dict[str, str]:
    """What fetch reads under data/sources/, each with the key that names it: a file source's path, a Hub
    source's local folder."""
    found: dict[str, str] = {}
    for i, spec in enumerate(sources):
        if isinstance(spec, FileSource):
            found.setdefault(posixpath.normpath(spec.path), f"data.sources[{i}].path")
        elif isinstance(spec, HubSource) and under_sources(spec.dataset):
            found.setdefault(posixpath.normpath(spec.dataset), f"data.sources[{i}].dataset")
    return found


def fetch_deps(pipeline: Path = Path(paths.PIPELINE)) -> list[str]:
    """fetch's deps as dvc.yaml declares them."""
    try:
        stages = yaml.safe_load(pipeline.read_text(encoding="utf-8"))["stages"]
        return [posixpath.normpath(str(dep)) for dep in stages["fetch"]["deps"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise PipelineError(f"{pipeline}: cannot read the fetch stage's deps ({type(exc).__name__}: {exc})") from None


def check_declared(sources: list[Source], pipeline: Path = Path(paths.PIPELINE)) -> None:
    """Every file fetch reads is one of its deps in dvc.yaml: DVC then reruns fetch exactly when one of them
    changes, and a file beside them that no source names changes nothing. (Without a dvc.yaml, as when a
    stage runs by hand in a bare folder, there is no dep to check.)"""
    if not pipeline.exists():
        return
    declared = set(fetch_deps(pipeline))
    for path, key in source_paths(sources).items():
        if path not in declared:
            raise PipelineError(f"{pipeline}: fetch does not depend on {path} ({key}), so DVC would not rerun "
                                "it when that file changes; `mlkit import` declares it (then commit dvc.yaml)")


def check_tracked(sources: list[Source]) -> None:
    """Refuse, before any reading, a source DVC does not track; each problem is one PipelineError."""
    for i, spec in enumerate(sources):
        key = f"data.sources[{i}]"
        if isinstance(spec, FileSource):
            check_file(spec, key)
        elif isinstance(spec, HubSource):
            check_hub(spec, key)
