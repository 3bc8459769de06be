"""`mlkit preset NAME` in a copy of the project: params.yaml becomes the preset, its data is imported."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from mlkit.testing import DATASETS, ROOT, copy_project, dataset


@pytest.mark.fast  # no DVC run: the digits preset imports nothing
def test_listing_and_applying_a_preset(tmp_path) -> None:
    project = copy_project(tmp_path / "project")
    project.commit("clean copy")
    listed = project.tool("preset")
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert listed.returncode == 0 and names == sorted(p.stem for p in (ROOT / "presets").glob("*.yaml"))

    applied = project.tool("preset", "digits")
    assert applied.returncode == 0, applied.stderr
    assert "params.yaml <- presets/digits.yaml" in applied.stdout and "nothing to import" in applied.stdout
    assert project.file("params.yaml").read_text() == (ROOT / "presets" / "digits.yaml").read_text()
    assert project.git("diff", "--name-only").stdout.split() == ["params.yaml"]

    unknown = project.tool("preset", "no_such_preset")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: preset 'no_such_preset': unknown; available: ")
    assert project.file("params.yaml").read_text() == (ROOT / "presets" / "digits.yaml").read_text()  # untouched


def test_a_preset_with_import_url_imports_its_data_and_stages_the_dvc_file(tmp_path) -> None:
    dataset("disaster_tweets/train.csv")  # skip (or fail under CI) without the shared data
    (tmp_path / "shared").symlink_to(DATASETS.parent, target_is_directory=True)  # ../shared beside the copy
    project = copy_project(tmp_path / "project")
    project.commit("clean copy")
    applied = project.tool("preset", "disaster_tweets")
    assert applied.returncode == 0, applied.stderr
    assert "imported: data/sources/disaster_tweets/train.csv.dvc" in applied.stdout
    assert yaml.safe_load(project.file("params.yaml").read_text())["data"]["positive_label"] == "disaster"
    imported = project.file("data/sources/disaster_tweets/train.csv")
    assert hashlib.sha256(imported.read_bytes()).hexdigest() == \
        "2724edf814c85e9ae3b5ce9fd4615f1d0ee7526aaae52f96cb2df65e34e0b3e1"  # ../shared/datasets/README.md
    staged = project.git("diff", "--cached", "--name-only").stdout.split()
    assert "data/sources/disaster_tweets/train.csv.dvc" in staged
    assert "data/sources/disaster_tweets/train.csv" not in staged  # the data goes to DVC, not git
    assert project.tool("preset", "disaster_tweets").stdout.count("1 import(s) already in place") == 1
