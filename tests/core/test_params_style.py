"""params.yaml and every preset are written as DVC writes params back, so `dvc exp run -S KEY=VALUE` changes
exactly one line and `git diff` / `dvc params diff` show just that change."""

import shutil
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from mlkit.testing import ROOT

pytestmark = pytest.mark.fast

FILES = [ROOT / "params.yaml", *sorted((ROOT / "presets").glob("*.yaml"))]
# Keys of each kind of value (number, text, null, list item), in the sections every file has.
CHANGES = ["split.seed=7", "model.seed=1", "compare.resamples=500", "compare.champion_rev=v1.0.0",
           "augment.balance.target_share=0.2", "augment.balance.methods=[emoji]"]


def holds(path: Path, key: str) -> bool:
    """Whether the file names `key` (a file may leave a key to its default; -S then needs +KEY, as DVC says)."""
    node = yaml.safe_load(path.read_text())
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


CASES = [(path, change) for path in FILES for change in CHANGES if holds(path, change.split("=")[0])]


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), "lines were added or removed"
    return [(a, b) for a, b in zip(old, new) if a != b]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_dvcs_writer_leaves_the_file_as_it_is(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "params.yaml"
    shutil.copy(path, copy)
    apply_overrides(copy, [])
    assert copy.read_text() == path.read_text()


@pytest.mark.parametrize(("path", "change"), CASES, ids=[f"{p.name}-{c}" for p, c in CASES])
def test_one_set_param_changes_one_line(path: Path, change: str, tmp_path: Path) -> None:
    value = change.split("=")[1]
    copy = tmp_path / "params.yaml"
    shutil.copy(path, copy)
    apply_overrides(copy, [change])
    lines = changed_lines(path.read_text(), copy.read_text())
    assert len(lines) == 1 and value.strip("[]") in lines[0][1], lines
