"""The README's "Your own data" examples work as copied: its `cp` lines and each `data:` section, pasted
into the default params.yaml, make fetch and split run and find the task the README names."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from mlkit.testing import ROOT, dataset, stage, workspace

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- own-data example: (\w+) -->\n```yaml\n(.*?)```", re.S)
COPIES = re.findall(r"^cp \.\./shared/datasets/(\S+) (data/sources/\S+)$", README, re.M)


def test_the_readme_has_both_examples() -> None:
    assert [name for name, _ in EXAMPLE.findall(README)] == ["multiclass", "binary"]
    assert len(COPIES) == 2


@pytest.mark.parametrize(("name", "labels"), [("multiclass", 6), ("binary", 2)])
def test_an_own_data_example_runs_as_copied(tmp_path, name: str, labels: int) -> None:
    section = yaml.safe_load(dict(EXAMPLE.findall(README))[name])
    folder = workspace(tmp_path, None)  # the committed default params.yaml, as `mlkit preset default` writes it
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["data"] = section["data"]  # "replace the whole data: section"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for source, target in COPIES:
        shutil.copyfile(dataset(source), folder / target)

    for name_ in ("fetch", "split"):
        done = stage(folder, name_)
        assert done.returncode == 0, done.stderr
    card = json.loads((folder / "metrics/data_card.json").read_text())
    assert card["task"] == name and len(card["labels"]) == labels
    if name == "binary":
        assert card["positive_label"] == "disaster" and sorted(card["labels"]) == ["disaster", "other"]
