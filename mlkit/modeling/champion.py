"""The champion: the model the registry (GTO git tags) assigns to a stage, or one at a git revision.

compare reads it through DVC at its commit (DVC's cache, else the default remote); promoting a new
champion is a tool's job (mlkit.tools.registry), not the pipeline's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gto.api
from dvc.api import DVCFileSystem
from dvc.exceptions import DvcException
from gto.exceptions import ArtifactNotFound

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.params import CompareParams
from mlkit.core.vcs import project_root, resolve_rev

ARTIFACT = "text-classifier"  # declared in dvc.yaml `artifacts:`


@dataclass(frozen=True)
class Champion:
    rev: str        # the commit holding the champion's model
    described: str  # for people: "`text-classifier` v0.0.2 in stage `prod`"


def stage_holder(stage: str) -> Champion | None:
    """The newest version the registry assigns to `stage`, or None when none is."""
    try:
        found = gto.api.find_versions_in_stage(str(project_root()), ARTIFACT, stage)
    except ArtifactNotFound:  # never registered
        return None
    except Exception as exc:  # noqa: BLE001 - gto raises its own and git's errors; all mean the same to the user here
        raise PipelineError(f"registry: cannot read the git tags of `{ARTIFACT}` ({exc})") from None
    if not found:
        return None
    held = found[0]  # the newest assignment first
    return Champion(held.commit_hexsha, f"`{ARTIFACT}` {held.version} in stage `{stage}`")


def find_champion(params: CompareParams) -> Champion | None:
    """`compare.champion_rev` when set, else the registry's holder of `compare.champion_stage`."""
    if params.champion_rev:
        rev = resolve_rev(params.champion_rev, "compare.champion_rev", project_root())
        return Champion(rev, f"git revision `{params.champion_rev}`")
    return stage_holder(params.champion_stage)


@lru_cache(maxsize=4)
def files_at(rev: str) -> DVCFileSystem:
    """The repository's files at `rev` through DVC; opened once per revision (compare reads several)."""
    return DVCFileSystem(str(project_root()), rev=rev)


@contextmanager
def model_at(rev: str) -> Iterator[Path]:
    """The model folder as committed at `rev`, read through DVC (its cache, else the default remote)."""
    with tempfile.TemporaryDirectory(prefix="champion-") as folder:
        try:
            files_at(rev).get(paths.MODEL, f"{folder}/model", recursive=True)
        except (DvcException, FileNotFoundError, OSError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise PipelineError(f"champion at {rev[:12]}: cannot read {paths.MODEL} ({why}); "
                                "`dvc pull` its data or check the remote") from None
        yield Path(folder) / "model"


def read_at(path: str, rev: str) -> bytes | None:
    """A DVC- or git-tracked file's bytes at `rev`, or None when it is not there."""
    try:
        return files_at(rev).read_bytes(path)
    except (DvcException, FileNotFoundError, OSError):
        return None
