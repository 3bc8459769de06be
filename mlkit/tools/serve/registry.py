"""The model at a registry stage or version, fetched without a clone: GTO reads the git tags of the
repository (a URL or a path), dvc.api reads the model's files at that commit from the DVC remote it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gto.api
from dvc.api import DVCFileSystem
from dvc.exceptions import DvcException
from dvc_data.index.index import DataIndexDirError
from gto.exceptions import GTOException

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.modeling.champion import ARTIFACT
from mlkit.tools.serve.model import Origin


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def registry_commit(repo: str, stage: str | None, version: str | None) -> tuple[str, str]:
    """(commit, version) of `ARTIFACT` at `stage` (its newest assignment) or at `version`, from the tags."""
    try:
        if stage is not None:
            found = gto.api.find_versions_in_stage(repo, ARTIFACT, stage)
            held = found[0] if isinstance(found, list) and found else found
            if not held:
                raise PipelineError(f"--stage {stage}: no version of `{ARTIFACT}` is in stage `{stage}` at {repo} "
                                    "(`gto show` lists the stages; `mlkit registry promote --push` fills one)")
            return str(held.commit_hexsha), str(held.version)  # type: ignore[union-attr]
        versions = gto.api.show(repo, ARTIFACT)
    except GTOException as exc:
        raise PipelineError(f"--repo {repo}: cannot read the registry of `{ARTIFACT}` ({one_line(exc)})") from None
    except PipelineError:
        raise
    except Exception as exc:  # noqa: BLE001 - gto lets git's and scmrepo's errors through; all mean the same here
        raise PipelineError(f"--repo {repo}: cannot read the registry's git tags ({one_line(exc)})") from None
    match = next((v for v in versions if v["version"] == version), None)
    if match is None:
        known = ", ".join(str(v["version"]) for v in versions) or "none registered"
        raise PipelineError(f"--version {version}: no such version of `{ARTIFACT}` at {repo} (versions: {known})")
    return str(match["commit_hexsha"]), str(match["version"])


def fetch(repo: str, stage: str | None, version: str | None, folder: Path) -> Origin:
    """Copy the registry's model into `folder` (from the DVC remote the repository's .dvc/config names, with
    the credentials of the environment); where it came from, with the metrics committed with it."""
    commit, found = registry_commit(repo, stage, version)
    try:
        fs = DVCFileSystem(url=repo, rev=commit)
    except Exception as exc:  # noqa: BLE001 - DVC and scmrepo raise their own and git's errors alike
        raise PipelineError(f"--repo {repo}: cannot open the repository at {commit[:12]} ({one_line(exc)})") from None
    try:
        fs.get(paths.MODEL, str(folder), recursive=True)
    except (DvcException, DataIndexDirError, FileNotFoundError, OSError) as exc:
        # dvc-data wraps a remote's refusal of a folder's listing (a wrong S3 secret: Forbidden) in its own error
        why = exc.__cause__ if isinstance(exc, DataIndexDirError) and exc.__cause__ else exc
        raise PipelineError(f"`{ARTIFACT}` {found} ({commit[:12]}): cannot read {paths.MODEL} from the DVC remote "
                            f"({one_line(why)}); check the remote and its credentials (AWS_ACCESS_KEY_ID, ...)") \
            from None
    return Origin(source=repo, version=found, stage=stage, commit=commit, metrics=metrics_at(fs))


def metrics_at(fs: DVCFileSystem) -> dict[str, Any] | None:
    try:
        found = json.loads(fs.read_bytes(paths.EVAL_METRICS))
    except (DvcException, OSError, ValueError):  # no metrics committed: the metadata says so with null
        return None
    return found if isinstance(found, dict) else None
