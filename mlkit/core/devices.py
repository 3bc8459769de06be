"""One GPU per process from a shared pool, so that parallel trials on a machine with several GPUs each
fine-tune on a device of their own.

    MLKIT_GPUS=0,1,2,3 dvc queue start -j 4        # or: mlkit sweep/search ... --gpus 0,1,2,3

A process that needs a GPU (a transformer's build or load) takes the first device of `MLKIT_GPUS` whose
lock file it can lock (`fcntl.flock`, in `MLKIT_GPU_LOCKS`, default $TMPDIR/mlkit-gpus), sets
`CUDA_VISIBLE_DEVICES` to it before torch initialises CUDA, and holds the lock until it exits: the
kernel releases it even after kill -9, so a dead trial never keeps its device. With every device taken
it waits. DVC's queue workers pass their environment on to the experiments they run, so setting
`MLKIT_GPUS` where the workers start is enough. Without `MLKIT_GPUS` nothing changes.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from mlkit.core.errors import PipelineError

GPUS_ENV = "MLKIT_GPUS"
THREADS_ENV = "OMP_NUM_THREADS"
LOCKS_ENV = "MLKIT_GPU_LOCKS"
WAIT_SECONDS = 2.0
_held: list[IO[str]] = []  # the lock this process holds, open until it exits


def gpu_pool(text: str | None = None, where: str = GPUS_ENV) -> list[str]:
    """`0,1,2,3` -> ["0", "1", "2", "3"]; the devices are CUDA indices (or UUIDs), as CUDA_VISIBLE_DEVICES takes."""
    text = os.environ.get(GPUS_ENV, "") if text is None else text
    pool = [d.strip() for d in text.split(",") if d.strip()]
    if len(set(pool)) != len(pool):
        raise PipelineError(f"{where} {text}: a device is listed twice")
    if any(not d.replace("-", "").isalnum() for d in pool):
        raise PipelineError(f"{where} {text}: expected device indices such as 0,1,2,3")
    return pool


def use_gpus(text: str, parallel: int, option: str) -> None:
    """`--gpus 0,1`: check the list and export it as MLKIT_GPUS, which the queue workers started after
    this pass on to their experiments. More parallel runs than devices is allowed: the extra ones wait."""
    pool = gpu_pool(text, "--gpus")
    if not pool:
        raise PipelineError(f"--gpus {text!r}: expected device indices such as 0,1")
    if parallel < len(pool):
        print(f"warning: --gpus lists {len(pool)} devices and {option} {parallel} runs at a time: "
              f"{len(pool) - parallel} stay idle", file=sys.stderr)
    os.environ[GPUS_ENV] = ",".join(pool)


def claim_gpu(wait: float = WAIT_SECONDS) -> str | None:
    """Take a free device of the pool for this process (waiting while all are taken), export it as
    CUDA_VISIBLE_DEVICES and return it; None when no pool is set. Calling it again returns the same one."""
    pool = gpu_pool()
    if not pool:
        return None
    if _held:
        return os.environ["CUDA_VISIBLE_DEVICES"]
    folder = Path(os.environ.get(LOCKS_ENV) or Path(tempfile.gettempdir()) / "mlkit-gpus")
    folder.mkdir(parents=True, exist_ok=True)
    said = False
    while True:
        for device in pool:
            handle = open(folder / f"gpu-{device}.lock", "a")  # noqa: SIM115 - held open until the process exits
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held.append(handle)
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            print(f"gpu: device {device} of {GPUS_ENV}={','.join(pool)} (CUDA_VISIBLE_DEVICES={device})",
                  file=sys.stderr, flush=True)
            return device
        if not said:
            print(f"gpu: all of {GPUS_ENV}={','.join(pool)} are taken; waiting for one", file=sys.stderr, flush=True)
            said = True
        time.sleep(wait)


# ---------------------------------------------------------------- CPU threads
def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask: a container's or a SLURM job's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_threads() -> int:
    """Threads one CPU-bound process may use: OMP_NUM_THREADS when set (as `share_cpus` sets it for the
    queue), otherwise every CPU it may run on."""
    text = os.environ.get(THREADS_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else cpu_count()


def share_cpus(parallel: int, environ: dict[str, str]) -> None:
    """`parallel` runs at once on this machine: give each CPUs // parallel threads (OMP_NUM_THREADS, read
    by torch, OpenBLAS and OpenMP), unless the user set it. Two runs of two threads each on two cores are
    oversubscribed, and spinning OpenMP threads then take longer than one run after the other."""
    if parallel > 1 and not environ.get(THREADS_ENV):
        environ[THREADS_ENV] = str(max(1, cpu_count() // parallel))
