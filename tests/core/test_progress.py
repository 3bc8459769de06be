"""The heartbeat that keeps a long fit from looking hung."""

from __future__ import annotations

import io
import time

import pytest

from mlkit.core.progress import heartbeat

pytestmark = pytest.mark.fast


def test_a_long_step_prints_its_elapsed_time_and_a_quick_one_prints_nothing() -> None:
    long = io.StringIO()
    with heartbeat("train: svc", every=0.05, out=long):
        time.sleep(0.18)
    lines = long.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("train: svc: ") and line.endswith(" s so far") for line in lines)
    quick = io.StringIO()
    with heartbeat("train: svc", every=5, out=quick):
        pass
    assert quick.getvalue() == ""
