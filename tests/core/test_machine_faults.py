"""run_main: what the machine gets wrong (a full disk, a read-only folder) is one `error:` line, and an
output being replaced keeps its last good version."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mlkit.core.errors import run_main
from mlkit.core.io import replacing

pytestmark = pytest.mark.fast


def fail_with(code: int, filename: str | None = None):
    def main() -> None:
        raise OSError(code, os.strerror(code), filename)
    return main


@pytest.mark.parametrize(("code", "expected"), [
    (errno.ENOSPC, "error: out/model.skops: No space left on device; free space there and run again"),
    (errno.EROFS, "error: out/model.skops: Read-only file system; write somewhere else"),
    (errno.EACCES, "error: out/model.skops: Permission denied; write somewhere you may"),
])
def test_a_machine_fault_is_one_error_line(code: int, expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_main(fail_with(code, "out/model.skops"))
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_inside_a_dvc_stage_the_line_says_how_to_restore(capsys, monkeypatch) -> None:
    monkeypatch.setenv("DVC_STAGE", "train")
    with pytest.raises(SystemExit):
        run_main(fail_with(errno.ENOSPC, "models/model"))
    assert "`dvc checkout` restores them" in capsys.readouterr().err


def test_an_error_the_machine_did_not_cause_stays_a_traceback() -> None:
    # a bug must not be dressed up as a user's problem
    with pytest.raises(FileNotFoundError):
        run_main(fail_with(errno.ENOENT, "nowhere"))


def test_a_full_disk_while_writing_names_the_output_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "predictions.csv"
    target.write_text("last good\n")
    with pytest.raises(OSError) as raised, replacing(target) as scratch:
        scratch.write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # pandas' writer gives no file name
    assert raised.value.filename == str(target)
    assert target.read_text() == "last good\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.csv"]


def test_a_file_output_never_replaces_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "kept.csv").write_text("kept\n")
    with pytest.raises(IsADirectoryError), replacing(folder) as scratch:
        scratch.write_text("new")
    assert [p.name for p in folder.iterdir()] == ["kept.csv"]
