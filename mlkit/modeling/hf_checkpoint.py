"""Loading a Hugging Face checkpoint: the environment before transformers loads, the device it runs on, its
token limit, its classification head's labels, and which of its layers stay frozen while the rest is fine-tuned."""

from __future__ import annotations

import os
import re
from typing import Any

from mlkit.core.devices import claim_gpu, cpu_threads
from mlkit.core.errors import PipelineError

KEY = "params.yaml: model"


def before_loading() -> None:
    """Before transformers loads: no telemetry, no fork warnings from the tokenizers' thread pool, and this
    process's GPU taken from MLKIT_GPUS when one is set (before torch initialises CUDA)."""
    claim_gpu()
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def place(model: Any) -> Any:
    """A loaded model onto the GPU when there is one, else torch on this process's share of the CPUs; the device."""
    import torch

    if torch.cuda.is_available():
        model.to("cuda")
    else:
        torch.set_num_threads(cpu_threads())
    return next(model.parameters()).device


def position_limit(config: Any, tokenizer: Any) -> int:
    """The most tokens the checkpoint takes: its position embeddings or its tokenizer's limit."""
    found = [getattr(config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits = [int(v) for v in found if isinstance(v, (int, float)) and 0 < v < 1_000_000]
    return min(limits) if limits else 1_000_000


def head_labels(config: Any, labels: list[str], checkpoint: str) -> list[str]:
    """The label order for the model. A checkpoint with a trained head keeps its labels and order."""
    if not any(a.endswith("ForSequenceClassification") for a in (config.architectures or [])):
        return list(labels)  # a base model: a fresh head of any size
    head = [str(config.id2label[i]) for i in sorted(config.id2label, key=int)]
    if all(re.fullmatch(r"LABEL_\d+", h) for h in head) and len(head) == len(labels):
        return list(labels)  # an unnamed head of the right size
    if set(head) != set(labels):
        extra = [label for label in labels if label not in head]
        shown = ", ".join(head[:8]) + (", ..." if len(head) > 8 else "")
        raise PipelineError(
            f"{KEY}.checkpoint: the classification head of {checkpoint} holds {len(head)} labels ({shown}); "
            f"the data has {len(labels)}" + (f", {len(extra)} it cannot hold: {', '.join(extra[:8])}" if extra else "")
            + "; start from a base model or relabel the data")
    return head


def freeze(model: Any, layers: int, checkpoint: str, key: str) -> None:
    """The embeddings and the first `layers` encoder layers keep the checkpoint's weights (no gradient)."""
    base = model.base_model
    stack = getattr(getattr(base, "encoder", None), "layer", None)  # BERT, RoBERTa, MiniLM, XLM-R
    if stack is None:
        stack = getattr(getattr(base, "transformer", None), "layer", None)  # DistilBERT
    if stack is None or not hasattr(base, "embeddings"):
        raise PipelineError(f"{key}: cannot find the encoder layers of {checkpoint}; allowed: 0")
    if layers > len(stack):
        raise PipelineError(f"{key}: {layers} is more than the {len(stack)} layers of {checkpoint}")
    for module in [base.embeddings, *stack[:layers]]:
        for parameter in module.parameters():
            parameter.requires_grad = False
