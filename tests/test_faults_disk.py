"""A full disk and a read-only folder, real ones (small tmpfs mounts, so root only): train and predict end
in one `error:` line naming the output, and the last good model stays as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlkit.testing.commands import ENV, ROOT
from mlkit.testing.project import MULTICLASS, stage, workspace


def mount_tmpfs(folder: Path, options: str) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root and mount rights needed): {done.stderr.decode().strip()}")


@contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mount_tmpfs(folder, options)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = workspace(tmp_path_factory.mktemp("disk"), MULTICLASS)
    for name in ("fetch", "split", "augment", "train"):
        done = stage(folder, name)
        assert done.returncode == 0, done.stderr
    return folder


def one_error(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], done.stderr


def test_train_onto_a_full_disk_keeps_the_last_good_model(trained: Path) -> None:
    saved = trained / "saved-model"
    shutil.copytree(trained / "models", saved)
    before = {p.name: p.read_bytes() for p in (saved / "model").iterdir()}
    with tmpfs(trained / "models", "size=256k") as models:
        shutil.copytree(saved, models, dirs_exist_ok=True)
        fill(models)
        done = stage(trained, "train")
        one_error(done, "No space left on device; free space there and run again")
        assert {p.name: p.read_bytes() for p in (models / "model").iterdir()} == before
        assert sorted(p.name for p in models.iterdir()) == ["filler", "model"]  # no scratch folder left


def fill(folder: Path) -> None:
    """The rest of the disk under `folder`, full."""
    try:
        with open(folder / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
    except OSError:
        pass


def test_predict_onto_a_full_disk_is_one_line(trained: Path) -> None:
    with tmpfs(trained / "full", "size=64k") as full:
        fill(full)
        done = subprocess.run([sys.executable, "-m", "mlkit", "predict", "data/sources/t.csv", "--output",
                               "full/predictions.csv"], cwd=trained, env={**ENV, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True)
        one_error(done, "full/predictions.csv: No space left on device; free space there and run again")
        assert sorted(p.name for p in full.iterdir()) == ["filler"]  # no scratch file left


def test_predict_into_a_read_only_folder_is_one_line(trained: Path) -> None:
    with tmpfs(trained / "read-only", "size=64k,ro"):
        done = subprocess.run([sys.executable, "-m", "mlkit", "predict", "data/sources/t.csv", "--output",
                               "read-only/predictions.csv"], cwd=trained, env={**ENV, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True)
        one_error(done, "read-only/predictions.csv: Read-only file system; write somewhere else")


def test_predict_from_a_read_only_folder_names_predictions_csv(trained: Path) -> None:
    """The default output, predictions.csv, in a read-only working folder: the line names it, not the scratch
    file that would have stood beside it."""
    with tmpfs(trained / "read-only", "size=64k,ro") as folder:
        done = subprocess.run([sys.executable, "-m", "mlkit", "predict", str(trained / "data/sources/t.csv"),
                               "--model", str(trained / "models/model")], cwd=folder,
                              env={**ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
        one_error(done, "error: predictions.csv: Read-only file system; write somewhere else")
