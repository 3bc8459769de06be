"""The model registry: GTO versions and stages of the `artifacts:` model in dvc.yaml, as git tags.

    python -m mlkit.registry promote [--push]  # register HEAD and assign it the champion's stage,
                                               # only when metrics/compare.json says promote
    gto show                                   # versions and stages (GTO's own command)
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

import gto.api
from gto.exceptions import ArtifactNotFound
from dvc.api import DVCFileSystem
from dvc.exceptions import DvcException
from dvc.repo import Repo
from dvc.repo.experiments.utils import EXEC_TMP_DIR
from scmrepo.exceptions import RevError, SCMError
from scmrepo.git import Git

from mlkit.errors import PipelineError, run_main
from mlkit.experiments import head, uncommitted
from mlkit.io import read_json
from mlkit.params import CompareParams, load_params

ARTIFACT = "text-classifier"  # declared in dvc.yaml `artifacts:`
MODEL = "models/model"
COMPARE_JSON = "metrics/compare.json"
PIPELINE_FILES = ("dvc.yaml", "dvc.lock", "params.yaml")


def home() -> str:
    """The repository whose git tags and commits the registry reads.

    Queued and `--temp` experiments run in a fresh git repo under <repo>/.dvc/tmp/exps/ that holds only
    the experiment's own commits, no tags: there the registry (and the champion's files) are <repo>'s.
    """
    here = Path.cwd().resolve()
    if here.parent.name == EXEC_TMP_DIR and here.parents[1].name == "tmp" and here.parents[2].name == ".dvc":
        return str(here.parents[3])
    return "."


@dataclass(frozen=True)
class Champion:
    rev: str        # the commit holding the champion's model
    described: str  # for people: "`text-classifier` v0.0.2 in stage `prod`"


def resolve_rev(rev: str) -> str:
    """`compare.champion_rev` -> its commit sha, or a one-line error naming the key."""
    try:
        return Git(home()).resolve_rev(rev)
    except (RevError, SCMError):
        raise PipelineError(f"compare.champion_rev: no git revision {rev!r} in this repository "
                            "(a commit, tag or branch; `git fetch --tags` if it lives on the remote)") from None


def stage_holder(stage: str) -> Champion | None:
    """The newest version the registry assigns to `stage`, or None when none is."""
    try:
        found = gto.api.find_versions_in_stage(home(), ARTIFACT, stage)
    except ArtifactNotFound:  # never registered
        return None
    except Exception as exc:  # gto raises its own and git's errors; all mean the same to the user here
        raise PipelineError(f"registry: cannot read the git tags of `{ARTIFACT}` ({exc})") from None
    if not found:
        return None
    held = found[0]  # the newest assignment first
    return Champion(held.commit_hexsha, f"`{ARTIFACT}` {held.version} in stage `{stage}`")


def find_champion(params: CompareParams) -> Champion | None:
    """`compare.champion_rev` when set, else the registry's holder of `compare.champion_stage`."""
    if params.champion_rev:
        return Champion(resolve_rev(params.champion_rev), f"git revision `{params.champion_rev}`")
    return stage_holder(params.champion_stage)


@lru_cache(maxsize=4)
def files_at(rev: str) -> DVCFileSystem:
    """The repository's files at `rev` through DVC; opened once per revision (compare reads several)."""
    return DVCFileSystem(home(), rev=rev)


@contextmanager
def model_at(rev: str) -> Iterator[Path]:
    """The model folder as committed at `rev`, read through DVC (its cache, else the default remote)."""
    with tempfile.TemporaryDirectory(prefix="champion-") as folder:
        try:
            files_at(rev).get(MODEL, f"{folder}/model", recursive=True)
        except (DvcException, FileNotFoundError, OSError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise PipelineError(f"champion at {rev[:12]}: cannot read {MODEL} ({why}); "
                                "`dvc pull` its data or check the remote") from None
        yield Path(folder) / "model"


def read_at(path: str, rev: str) -> bytes | None:
    """A DVC- or git-tracked file's bytes at `rev`, or None when it is not there."""
    try:
        return files_at(rev).read_bytes(path)
    except (DvcException, FileNotFoundError, OSError):
        return None


# ---------------------------------------------------------------- promote
def committed_head() -> str:
    """HEAD's sha, when HEAD is what compare judged: pipeline files committed and outputs up to date."""
    changed = uncommitted(PIPELINE_FILES, Path("."))
    if changed:
        raise PipelineError(f"promote: commit {', '.join(changed)} first; the registry versions commits")
    with Repo(".") as repo:
        stale = repo.status()
    if stale:
        raise PipelineError(f"promote: the pipeline is not up to date ({', '.join(sorted(stale))}); "
                            "run `dvc repro` and commit dvc.lock first")
    return head(Path("."))


def version_at(commit: str) -> str | None:
    """The registry version already pointing at `commit`, if any."""
    try:
        versions = gto.api.show(".", ARTIFACT)
    except ArtifactNotFound:
        return None
    return next((v["version"] for v in versions if v["commit_hexsha"] == commit), None)


def promote(push: bool) -> None:
    """Register HEAD and assign it the champion's stage, only when compare decided `promote`."""
    params = load_params().compare
    if not Path(COMPARE_JSON).is_file():
        raise PipelineError(f"promote: {COMPARE_JSON} missing; run `dvc repro` first")
    result = read_json(COMPARE_JSON)
    head = committed_head()
    stage = params.champion_stage
    holder = stage_holder(stage)
    if not params.champion_rev and (holder.rev if holder else None) != result["champion_rev"]:
        raise PipelineError(f"promote: stage `{stage}` changed since compare ran (now "
                            f"{holder.described if holder else 'empty'}); run `dvc repro -f -s compare`")
    if result["decision"] != "promote":
        print(f"keep: {result['reason']}; nothing registered")
        return
    version = version_at(head) or gto.api.register(".", ARTIFACT, head, message=result["reason"], push=push).version
    gto.api.assign(".", ARTIFACT, stage, version=version, message=result["reason"], push=push)
    print(f"promote: `{ARTIFACT}` {version} (commit {head[:12]}) is now in stage `{stage}`"
          + ("" if push else "; `git push --tags` publishes it"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlkit.registry", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    promoting = commands.add_parser("promote", help="register and assign HEAD when compare decided promote")
    promoting.add_argument("--push", action="store_true", help="push the new git tags to origin")
    args = parser.parse_args(argv)
    promote(args.push)


if __name__ == "__main__":
    run_main(main)
