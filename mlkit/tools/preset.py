"""Apply a preset: `mlkit preset NAME` validates presets/NAME.yaml, writes it to params.yaml, imports the
data its sources name with `import_url` into data/sources/ and declares those files as fetch's deps in
dvc.yaml (`mlkit import`)."""

from __future__ import annotations

import re
from pathlib import Path

from mlkit.core.errors import PipelineError
from mlkit.core.io import replacing
from mlkit.core.params import PARAMS_FILE, read_yaml, validate
from mlkit.core.text_table import text_table
from mlkit.tools.imports import declare_sources, import_sources, report, wanted

PRESETS = Path("presets")


def available() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def description(path: Path) -> str:
    """A preset's one-line description: the first comment line of its file."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            return line.lstrip().lstrip("#").strip()
    return "(no description: the file has no comment line)"


def listing() -> str:
    """Every preset with its description, aligned."""
    return text_table([], [[name, description(PRESETS / f"{name}.yaml")] for name in available()], left=2)


def apply(name: str, target: Path = PARAMS_FILE) -> str:
    """Write the preset to params.yaml and import its data; what was imported, as `mlkit import` reports it."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or name.endswith(".yaml"):
        raise PipelineError(f"preset {name!r}: a preset is a name from presets/, not a path or file name; "
                            f"available: {', '.join(available())}")
    source = PRESETS / f"{name}.yaml"
    if not source.is_file():
        raise PipelineError(f"preset {name!r}: unknown; available: {', '.join(available())}")
    params = validate(read_yaml(source), str(source))
    wanted(params)  # every import's origin checked before params.yaml changes
    with replacing(target) as tmp:
        tmp.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    done = import_sources(params)
    return report(done, params, declare_sources(params))


def run(name: str | None) -> None:
    """Apply preset `name` (then `dvc repro`), or list the presets."""
    if name is None:
        print(listing())
        return
    imported = apply(name)
    print(f"params.yaml <- presets/{name}.yaml\n{imported}\nthen `dvc repro`")
