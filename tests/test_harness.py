"""The test harness itself: missing shared data skips locally and fails under CI; tests can run in any order."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlkit.testing import ENV, ROOT, dataset

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_dataset_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no-such-set/train.csv not found .*CI is set"):
        dataset("no-such-set/train.csv")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_missing_dataset_skips_outside_ci_with_the_reason(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="no-such-set/train.csv not found .*with CI=true this fails"):
        dataset("no-such-set/train.csv")


def test_a_ci_run_without_the_datasets_exits_non_zero(tmp_path) -> None:
    """The whole chain: pytest's exit status, not just the helper. A test file needing a missing data set."""
    (tmp_path / "test_needs_data.py").write_text(
        "from mlkit.testing import dataset\n\ndef test_uses_it():\n    dataset('no-such-set/train.csv')\n")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-ra", "--rootdir", str(tmp_path),
               "-c", "/dev/null", "--confcutdir", str(ROOT / "tests"), str(tmp_path)]
    env = {**ENV, "PYTHONPATH": str(ROOT)}
    skipped = subprocess.run(command, cwd=tmp_path, env={k: v for k, v in env.items() if k != "CI"},
                             capture_output=True, text=True)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout and "SKIPPED" in skipped.stdout, skipped.stdout
    failed = subprocess.run(command, cwd=tmp_path, env={**env, "CI": "true"}, capture_output=True, text=True)
    assert failed.returncode == 1 and "1 failed" in failed.stdout and "CI is set" in failed.stdout, failed.stdout
