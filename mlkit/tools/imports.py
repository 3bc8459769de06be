"""`mlkit import`: bring each source params.yaml names with `import_url` into data/sources/ with
`dvc import-url`, so DVC tracks its content: fetch reads the imported copy, `dvc update PATH.dvc` refreshes
it (and fetch reruns when it changed), `dvc push` / `dvc pull` carry it to colleagues, CI and queued runs.
Then fetch's deps in dvc.yaml are made to name exactly the files the sources read: a file beside them that
no source names changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

from mlkit.core import paths
from mlkit.core.errors import PipelineError
from mlkit.core.params import PARAMS_FILE, FileSource, Params, load_params
from mlkit.core.vcs import stage
from mlkit.data.tracked import (
    check_tracked,
    dvc_file,
    dvc_location,
    is_url,
    recorded_import,
    source_paths,
    under_sources,
)
from mlkit.tools.dvc_repo import import_url

SCHEMES = ("http://", "https://", "s3://", "remote://")  # what `dvc import-url` reads here (dvc[s3] installed)


def wanted(params: Params) -> list[FileSource]:
    """The sources to import, checked before anything is imported: each under data/sources/, one origin per path,
    a local origin that exists."""
    specs: dict[str, FileSource] = {}
    for i, spec in enumerate(params.data.sources):
        if not isinstance(spec, FileSource) or spec.import_url is None:
            continue
        key = f"data.sources[{i}]"
        if not under_sources(spec.path):
            raise PipelineError(f"{key}.path: {spec.path}: an import goes under data/sources/ (fetch's DVC dependency)")
        if is_url(spec.import_url) and not spec.import_url.startswith(SCHEMES):
            raise PipelineError(f"{key}.import_url: {spec.import_url}: one of {', '.join(SCHEMES)} or a path")
        if not is_url(spec.import_url) and not Path(spec.import_url).expanduser().is_file():
            raise PipelineError(f"{key}.import_url: {spec.import_url}: no such file (relative to the repository root)")
        other = specs.get(spec.path)
        if other is not None and other.import_url != spec.import_url:
            raise PipelineError(f"{key}.path: {spec.path} is imported from {other.import_url} by another source too")
        specs[spec.path] = spec
    return list(specs.values())


def import_one(spec: FileSource) -> bool:
    """Import one source unless its .dvc file already imports it from there; True when it imported."""
    assert spec.import_url is not None
    origin = spec.import_url if is_url(spec.import_url) else os.path.expanduser(spec.import_url)
    location = dvc_location(origin, spec.path)
    if recorded_import(spec.path) == location and Path(spec.path).is_file():
        return False
    Path(spec.path).parent.mkdir(parents=True, exist_ok=True)
    import_url(location, spec.path, force=dvc_file(spec.path).exists())
    # What DVC's autostage would do, for these files only: `git commit -a` then takes the import along.
    stage([str(dvc_file(spec.path)), str(Path(spec.path).parent / ".gitignore")])
    return True


def import_sources(params: Params) -> list[str]:
    """Import what `params` needs; the .dvc files written (already `git add`ed)."""
    done = []
    for spec in wanted(params):
        if import_one(spec):
            done.append(str(dvc_file(spec.path)))
    return done


def declare_sources(params: Params, pipeline: Path = Path(paths.PIPELINE)) -> str | None:
    """Make fetch's deps in dvc.yaml name exactly the files the sources read (the rest of its deps kept, the
    file rewritten as DVC writes it, comments kept); what changed, or None."""
    from dvc.utils.serialize import modify_yaml  # DVC's own round-trip writer: the style it writes back

    check_tracked(params.data.sources)  # each file is there (and each import recorded) before it is declared
    wanted_paths = list(source_paths(params.data.sources))
    with modify_yaml(pipeline) as data:
        deps = data["stages"]["fetch"]["deps"]
        before = [str(dep) for dep in deps]
        kept = [dep for dep in before if not under_sources(dep) and dep != paths.SOURCES]
        if before == kept + wanted_paths:
            return None
        for dep in [d for d in deps if str(d) not in kept]:
            deps.remove(dep)
        deps.extend(wanted_paths)
    return f"{pipeline}: fetch depends on {', '.join(wanted_paths) or 'no file under data/sources/'} (commit it)"


def report(done: list[str], params: Params, declared: str | None = None) -> str:
    total = len(wanted(params))
    lines = [declared] if declared else []
    if not total:
        return "\n".join(lines + ["nothing to import: no source in params.yaml names an import_url"])
    lines += [f"imported: {f}" for f in done]
    lines += [f"{total - len(done)} import(s) already in place"] * (total > len(done))
    return "\n".join(lines + ["refresh with `dvc update data/sources/...dvc`; commit the .dvc files (git add done)"])


def run() -> None:
    """`dvc import-url` every source params.yaml names with import_url, declared as fetch's deps."""
    params = load_params(PARAMS_FILE)
    done = import_sources(params)
    print(report(done, params, declare_sources(params)))
