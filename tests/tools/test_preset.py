"""`mlkit preset`: the list with each preset's description, a name that is a path refused in one line, and
every preset a complete params.yaml for the stages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlkit.testing import ROOT

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)


def preset(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m mlkit preset ARGS` in `folder` (a copy of presets/ and params.yaml), this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mlkit", "preset", *args], cwd=folder, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "presets", tmp_path / "presets")
    shutil.copyfile(ROOT / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


def test_list_shows_each_presets_first_comment_line(folder: Path) -> None:
    result = preset(folder)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    files = sorted((folder / "presets").glob("*.yaml"))
    assert len(lines) == len(files) >= 5
    for line, path in zip(lines, files):
        first = next(ln for ln in path.read_text().splitlines() if ln.startswith("#"))
        name, description = line.split(maxsplit=1)
        assert name == path.stem and description == first.lstrip("# ").strip(), line
        assert len(line) <= 130, line  # one line each, terminal width


@pytest.mark.parametrize("name", ["../presets/emotion", "presets/emotion", "emotion.yaml", "/etc/hostname", ".."])
def test_a_path_is_not_a_preset_name(folder: Path, name: str) -> None:
    before = (folder / "params.yaml").read_bytes()
    result = preset(folder, name)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"preset {name!r}: a preset is a name from presets/, not a path" in result.stderr
    assert (folder / "params.yaml").read_bytes() == before  # nothing applied


def declared_params() -> set[str]:
    """Every `params:` entry of dvc.yaml's stages, as dotted keys (a bare section name stands for the section)."""
    import yaml
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {entry for stage in stages.values() for entry in stage.get("params", []) if isinstance(entry, str)}


@pytest.mark.parametrize("path", sorted((ROOT / "presets").glob("*.yaml")), ids=lambda p: p.stem)
def test_each_preset_holds_every_parameter_the_stages_declare(path: Path) -> None:
    # DVC refuses `dvc repro` when a declared param is missing from params.yaml, and a preset becomes params.yaml
    import yaml
    values = yaml.safe_load(path.read_text())
    missing = []
    for key in sorted(declared_params()):
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                missing.append(key)
                break
            node = node[part]
    assert not missing, f"{path.name} lacks {missing}"
