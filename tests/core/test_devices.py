"""GPU slots: each process that claims a device from MLKIT_GPUS gets its own, waits while all are taken,
and a killed holder gives its device back. Real processes and real file locks; no GPU is needed to
check which CUDA_VISIBLE_DEVICES each process sees."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlkit.core.devices import cpu_threads, gpu_pool, share_cpus
from mlkit.core.errors import PipelineError
from mlkit.testing import ROOT

pytestmark = pytest.mark.fast

# claims a device, prints what CUDA_VISIBLE_DEVICES it sees, then holds it until stdin closes
HOLDER = ("import os, sys; from mlkit.core.devices import claim_gpu; claim_gpu(wait=0.1); "
          "print(os.environ['CUDA_VISIBLE_DEVICES'], flush=True); sys.stdin.read()")


def holder(locks: Path, pool: str) -> subprocess.Popen:
    env = {**os.environ, "MLKIT_GPUS": pool, "MLKIT_GPU_LOCKS": str(locks), "PYTHONPATH": str(ROOT)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.Popen([sys.executable, "-c", HOLDER], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def device_of(process: subprocess.Popen) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def test_parallel_processes_get_a_device_each_and_wait_when_all_are_taken(tmp_path: Path) -> None:
    first, second = holder(tmp_path, "0,1"), holder(tmp_path, "0,1")
    try:
        devices = [device_of(first), device_of(second)]
        assert sorted(devices) == ["0", "1"]  # never the same device twice
        third = holder(tmp_path, "0,1")
        time.sleep(1.5)
        assert third.poll() is None  # waiting: both devices are held
        os.kill(first.pid, signal.SIGKILL)  # kill -9: the kernel drops its lock, as for a trial killed mid-run
        first.wait()
        assert device_of(third) == devices[0]  # the freed device, and only after it was freed
        assert "all of MLKIT_GPUS=0,1 are taken; waiting" in third.stderr.readline()
    finally:
        for process in (first, second, locals().get("third")):
            if process is not None:
                process.kill()
                process.wait()


def test_without_a_pool_nothing_changes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; from mlkit.core.devices import claim_gpu; "
                           "print(claim_gpu(), os.environ.get('CUDA_VISIBLE_DEVICES'))"],
                          env={k: v for k, v in os.environ.items() if k not in ("MLKIT_GPUS", "CUDA_VISIBLE_DEVICES")}
                          | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "None"]


@pytest.mark.parametrize(("text", "message"), [("0,0", "a device is listed twice"),
                                               ("0;1", "expected device indices such as 0,1,2,3")])
def test_a_bad_pool_is_one_error(text: str, message: str) -> None:
    with pytest.raises(PipelineError, match=f"^--gpus {text}: {message}"):
        gpu_pool(text, "--gpus")


def test_parallel_runs_share_the_cpus_unless_the_user_chose(monkeypatch) -> None:
    cpus = len(os.sched_getaffinity(0))
    environ: dict[str, str] = {}
    share_cpus(2, environ)
    assert environ == {"OMP_NUM_THREADS": str(max(1, cpus // 2))}
    share_cpus(cpus * 4, environ := {})
    assert environ == {"OMP_NUM_THREADS": "1"}  # never zero
    share_cpus(1, environ := {})
    assert environ == {}  # one run alone keeps every CPU
    share_cpus(2, environ := {"OMP_NUM_THREADS": "3"})
    assert environ == {"OMP_NUM_THREADS": "3"}  # the user's setting wins

    # What a transformer process then gives torch.set_num_threads.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert cpu_threads() == cpus
