"""Data-parallel fine-tuning (PyTorch DDP): the train stage launches itself through torchrun.

With `train.processes` x `train.nodes` above 1, `python -m stages.train` (as `dvc repro` runs it) starts
`python -m torch.distributed.run` with the stage's own module. Every process it starts runs the same training;
transformers' Trainer wraps the model in DistributedDataParallel, hands each process its share of each
step's batch (accelerate's `split_batches`: the global batch, model.batch_size, stays what one process
takes) and averages the gradients. Global rank 0 alone writes: the model, its card and the dvclive curves,
into the scratch folders the launching stage swapped in only once every process succeeded. So the outputs
and dvc.lock have the shape of a one-process run.

Several machines: each runs the train stage (node 0 under `dvc repro`, the others `python -m stages.train`
on the same commit and data); they meet at MASTER_ADDR:MASTER_PORT (torchrun's static rendezvous) and
NODE_RANK (else SLURM_NODEID, else JOB_COMPLETION_INDEX) says which machine is which. Node 0 writes.

A failing process ends the run: torchrun stops the others, and the launching stage says the first
process's `error:` line (or its last line) once, keeping the processes' logs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlkit.core.devices import GPUS_ENV, share_cpus
from mlkit.core.errors import RESTORE, PipelineError
from mlkit.core.params import TrainParams

# Set by the launching stage for the processes torchrun starts: where rank 0 writes, where the Trainer of
# each machine keeps its checkpoints (the best epoch is read back from there by every process of it).
OUTPUTS_ENV = "MLKIT_DDP_OUTPUTS"
NODE_RANK_ENVS = ("NODE_RANK", "SLURM_NODEID", "JOB_COMPLETION_INDEX")
DEFAULT_PORT = "29500"


@dataclass(frozen=True)
class Rank:
    """This process's place in a data-parallel run the train stage launched."""

    rank: int          # global: 0 writes the outputs
    world: int         # processes in all
    local_rank: int    # on this machine: its GPU
    local_world: int   # processes on this machine
    model: Path | None     # the launcher's scratch folders (rank 0 of node 0 writes there)
    curves: Path | None
    checkpoints: Path      # the Trainer's output_dir, one per machine

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def nodes(self) -> bool:
        """Several machines: each keeps its own copy of the Trainer's checkpoints."""
        return self.world > self.local_world


def current() -> Rank | None:
    """This process's rank when torchrun started it for the train stage; None in the stage itself."""
    given = os.environ.get(OUTPUTS_ENV)
    if given is None:
        if "TORCHELASTIC_RUN_ID" in os.environ:
            raise PipelineError("the train stage launches torchrun itself (train.processes, train.nodes); run "
                                "`python -m stages.train` or `dvc repro`, not torchrun around it")
        return None
    folders = json.loads(given)
    return Rank(rank=int(os.environ["RANK"]), world=int(os.environ["WORLD_SIZE"]),
                local_rank=int(os.environ["LOCAL_RANK"]), local_world=int(os.environ["LOCAL_WORLD_SIZE"]),
                model=Path(folders["model"]) if folders["model"] else None,
                curves=Path(folders["curves"]) if folders["curves"] else None,
                checkpoints=Path(folders["checkpoints"]))


def node_rank(train: TrainParams) -> int:
    """Which machine this is (0: the one that writes the outputs); 0 on one machine."""
    if train.nodes == 1:
        return 0
    name = next((n for n in NODE_RANK_ENVS if os.environ.get(n, "").strip()), None)
    if name is None:
        raise PipelineError(f"train.nodes: {train.nodes} machines need this one's rank: set NODE_RANK "
                            f"(0 to {train.nodes - 1}; SLURM_NODEID or JOB_COMPLETION_INDEX also serve)")
    text = os.environ[name].strip()
    if not text.isdigit() or int(text) >= train.nodes:
        raise PipelineError(f"{name} {text!r}: expected a machine rank from 0 to {train.nodes - 1} "
                            f"(train.nodes: {train.nodes})")
    return int(text)


def torchrun_args(train: TrainParams) -> list[str]:
    """torchrun's options for this machine: a standalone rendezvous on one machine (a free port, so parallel
    runs do not meet), the static one at MASTER_ADDR:MASTER_PORT on several."""
    common = ["--nnodes", str(train.nodes), "--nproc-per-node", str(train.processes), "--max-restarts", "0"]
    if train.nodes == 1:
        return ["--standalone", *common]
    address = os.environ.get("MASTER_ADDR", "").strip()
    if not address:
        raise PipelineError(f"train.nodes: {train.nodes} machines meet at MASTER_ADDR:MASTER_PORT: set MASTER_ADDR "
                            "to node 0's host name on every machine (MASTER_PORT: 29500 unless set)")
    port = os.environ.get("MASTER_PORT", "").strip() or DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise PipelineError(f"MASTER_PORT {port!r}: expected a port number")
    return [*common, "--node-rank", str(node_rank(train)), "--master-addr", address, "--master-port", port]


def check_launch(train: TrainParams) -> list[str]:
    """Everything the launch needs from this machine, checked before any process starts; torchrun's options."""
    if os.environ.get(GPUS_ENV, "").strip():
        raise PipelineError(f"{GPUS_ENV} hands one GPU to each run, and train.processes: {train.processes} runs one "
                            "process per GPU that CUDA_VISIBLE_DEVICES shows; unset it for this run")
    return torchrun_args(train)


def launch(train: TrainParams, module: str, model: Path | None, curves: Path | None) -> None:
    """Run `python -m module` in train.processes processes on this machine (and the other machines' in theirs)
    through torchrun; rank 0 writes into `model` and `curves`. One PipelineError line when a process fails."""
    args = check_launch(train)
    logs = Path(tempfile.mkdtemp(prefix="mlkit-ddp-"))
    env = dict(os.environ)
    env[OUTPUTS_ENV] = json.dumps({"model": str(model) if model else None, "curves": str(curves) if curves else None,
                                   "checkpoints": str(logs / "checkpoints")})
    share_cpus(train.processes, env)  # CPU processes share the machine's cores unless OMP_NUM_THREADS says
    # Rank 0's stdout is the stage's log; every other stream goes to a file per process, read on failure.
    quiet = ",".join([f"{r}:{3 if r else 2}" for r in range(train.processes)])
    command = [sys.executable, "-m", "torch.distributed.run", *args, "--log-dir", str(logs / "ranks"),
               "--redirects", quiet, "-m", module]
    where = f"{train.processes} processes" + (f" on each of {train.nodes} machines" if train.nodes > 1 else "")
    print(f"train: data-parallel over {where} (torchrun; logs in {logs})", flush=True)
    with open(logs / "torchrun.log", "w", encoding="utf-8") as log:
        done = subprocess.run(command, env=env, stdout=None, stderr=log, check=False)
    shutil.rmtree(logs / "checkpoints", ignore_errors=True)
    if done.returncode == 0:
        shutil.rmtree(logs, ignore_errors=True)
        return
    raise PipelineError(f"train: {failure(logs, train.processes)}; the processes' logs are in {logs}")


def failure(logs: Path, processes: int) -> str:
    """What ended a failed run, in one line: the first process's `error:` line, else the last line a process
    wrote (a traceback's), else torchrun's own."""
    found: dict[int, list[str]] = {}
    for path in sorted(logs.glob("ranks/*/attempt_*/*/stderr.log")):
        if path.parent.name.isdigit():
            found[int(path.parent.name)] = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for rank in sorted(found):
        said = [line for line in found[rank] if line.startswith("error: ")]
        if said:
            return f"process {rank} of {processes}: {said[-1].removeprefix('error: ').removesuffix(RESTORE)}"
    for rank in sorted(found):
        lines = [line.strip() for line in found[rank] if line.strip()]
        if lines and re.match(r"^[A-Za-z_.]+(Error|Exception|Interrupt)\b", lines[-1]):
            return f"process {rank} of {processes} failed: {lines[-1]}"
    torchrun = (logs / "torchrun.log").read_text(encoding="utf-8", errors="replace").splitlines()
    said = [line.strip() for line in torchrun if "exitcode" in line or "Signal" in line or "Error" in line]
    return "a process failed: " + (said[-1] if said else "torchrun ended with an error")


@contextmanager
def rank_outputs(rank: Rank) -> Iterator[tuple[Path, Path | None]]:
    """Where this process writes: rank 0 the launcher's scratch folders (curves, model), every other process
    a throwaway folder for its curves and no model."""
    if rank.main and rank.curves is not None and rank.model is not None:
        yield rank.curves, rank.model
        return
    with tempfile.TemporaryDirectory(prefix="mlkit-ddp-rank-") as scratch:
        curves = Path(scratch) / "curves"
        curves.mkdir()
        yield curves, None


def data_parallel(rank: Rank | None, gpu: bool) -> dict[str, Any]:
    """TrainingArguments for a process of a data-parallel run (none for one process). The DataLoader draws
    model.batch_size rows a step, as one process does, and each process takes its slice of them (accelerate's
    split_batches): the same rows make each step, and DDP averages the slices' gradients into the step's."""
    if rank is None:
        return {}
    return {"ddp_backend": "nccl" if gpu else "gloo", "accelerator_config": {"split_batches": True},
            # On by default (huggingface/transformers#34373), it multiplies the loss by the processes for a model
            # whose forward takes **kwargs, as if the model divided by the items of all processes; a sequence
            # classifier averages its own slice, so each step would take twice the gradient on 2 processes. Off:
            # DDP averages the slices' means (and the weighted loss's), which is the mean over the whole batch.
            "average_tokens_across_devices": False,
            # Several machines: each reads the best epoch back from its own copy of the checkpoints.
            "save_on_each_node": rank.nodes}


@contextmanager
def checkpoints(rank: Rank | None) -> Iterator[str]:
    """The Trainer's checkpoints (the best epoch is read back at the end): a scratch folder of this process,
    or, in a data-parallel run, the one its machine's processes share (the launcher removes it)."""
    if rank is not None:
        rank.checkpoints.mkdir(parents=True, exist_ok=True)
        yield str(rank.checkpoints)
        return
    with tempfile.TemporaryDirectory(prefix="mlkit-trainer-") as folder:
        yield folder
