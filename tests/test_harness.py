"""The test harness itself: missing shared data skips locally and fails under CI; every run shuffles the order."""

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


def test_pytest_randomly_shuffles_the_order_and_a_seed_repeats_it(tmp_path) -> None:
    """Order independence is tested on every run: pytest-randomly (the test extra) shuffles; --randomly-seed
    repeats one order; -p no:randomly keeps the written order."""
    names = [f"test_{i:02d}" for i in range(12)]
    (tmp_path / "test_order.py").write_text("import os\n\n" + "".join(
        f"def {name}():\n    open(os.environ['ORDER_LOG'], 'a').write('{name}\\n')\n\n" for name in names))

    def order(*options: str) -> list[str]:
        log = tmp_path / "order.log"
        log.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null",
                               "--rootdir", str(tmp_path), *options, str(tmp_path / "test_order.py")],
                              cwd=tmp_path, env={**ENV, "ORDER_LOG": str(log)}, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return log.read_text().split()

    first = order("--randomly-seed=1")
    assert sorted(first) == names and first != names
    assert order("--randomly-seed=1") == first
    assert order("--randomly-seed=2") != first
    assert order("-p", "no:randomly") == names
