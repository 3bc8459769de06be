"""params.yaml's train section: how the train stage runs a fine-tuning (one process, or data-parallel), and
what the model section must allow for it (checked with the rest by params.validate)."""

from __future__ import annotations

from pydantic import Field

from mlkit.core.model_params import TRANSFORMER, BaseModelParams, TransformerParams
from mlkit.core.source_params import Section


class TrainParams(Section):
    """How the train stage runs a fine-tuning: on one process, or data-parallel (PyTorch DDP) over several
    processes per machine and several machines, the global batch (model.batch_size) kept."""

    processes: int = Field(default=1, ge=1, le=1024, description="processes per machine (one per GPU, or CPU "
                           "processes); above 1: DDP through torchrun, model.type transformer only")
    nodes: int = Field(default=1, ge=1, le=4096, description="machines; above 1: each runs the train stage, "
                       "meeting at MASTER_ADDR:MASTER_PORT, NODE_RANK 0 writes the model")

    @property
    def world(self) -> int:
        """Processes in all: each takes model.batch_size / world rows of every step's batch."""
        return self.processes * self.nodes


def distributed_problems(train: TrainParams, model: BaseModelParams) -> list[str]:
    """Data-parallel settings the model cannot take: a scikit-learn model trains in one process, and the global
    batch must split evenly over the processes (each step's gradient is then the one-process step's)."""
    if train.world == 1:
        return []
    given = f"train.processes: {train.processes} x train.nodes: {train.nodes}"
    if not isinstance(model, TransformerParams):
        return [f"{given} runs data-parallel fine-tuning, which model.type {model.type} does not do "
                f"(model.type {TRANSFORMER} does); set both to 1"]
    if model.batch_size % train.world:
        return [f"model.batch_size: {model.batch_size} is the global batch, split evenly over {given} = "
                f"{train.world} processes; make it a multiple of {train.world}"]
    return []
