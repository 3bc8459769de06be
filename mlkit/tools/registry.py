"""The model registry: GTO versions and stages of the `artifacts:` model in dvc.yaml, as git tags.

    mlkit registry promote [--push]  # register HEAD and assign it the champion's stage,
                                               # only when metrics/compare.json says promote
    gto show                                   # versions and stages (GTO's own command)
"""

from __future__ import annotations

from pathlib import Path

import gto.api
from gto.exceptions import ArtifactNotFound

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.io import read_json
from mlkit.core.params import load_params
from mlkit.core.vcs import head, uncommitted
from mlkit.modeling.champion import ARTIFACT, stage_holder
from mlkit.tools.dvc_repo import stale_stages

COMPARE_JSON = paths.COMPARE_JSON
PIPELINE_FILES = ("dvc.yaml", "dvc.lock", "params.yaml")


# ---------------------------------------------------------------- promote
def committed_head() -> str:
    """HEAD's sha, when HEAD is what compare judged: pipeline files committed and outputs up to date."""
    changed = uncommitted(PIPELINE_FILES)
    if changed:
        raise PipelineError(f"promote: commit {', '.join(changed)} first; the registry versions commits")
    # A frozen import (`mlkit preset`'s `dvc import-url` files) makes status warn that it skips the import's
    # own source: true, and noise here, where only the pipeline's stages matter (stale_stages is quiet).
    stale = stale_stages()
    if stale:
        raise PipelineError(f"promote: the pipeline is not up to date ({', '.join(sorted(stale))}); "
                            "run `dvc repro` and commit dvc.lock first")
    return head()


def version_at(commit: str) -> str | None:
    """The registry version already pointing at `commit`, if any."""
    try:
        versions = gto.api.show(".", ARTIFACT)
    except ArtifactNotFound:
        return None
    return next((v["version"] for v in versions if v["commit_hexsha"] == commit), None)


def promote(push: bool, publishing: str = "; `git push --tags` publishes it") -> str | None:
    """Register HEAD and assign it the champion's stage, only when compare decided `promote`; the version
    assigned, or None when compare said keep. Without `push`, the line printed ends with `publishing`."""
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
        return None
    version = version_at(head) or gto.api.register(".", ARTIFACT, head, message=result["reason"], push=push).version
    gto.api.assign(".", ARTIFACT, stage, version=version, message=result["reason"], push=push)
    print(f"promote: `{ARTIFACT}` {version} (commit {head[:12]}) is now in stage `{stage}`"
          + ("" if push else publishing))
    return version
