"""The transformer backend: a Hugging Face checkpoint fine-tuned with transformers' Trainer, saved with safetensors.

torch and transformers are imported inside the functions that need them, so the scikit-learn path
never pays for them. The same code runs on a CPU and a GPU; only precision, pinned memory and the
inference batch follow the device.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlkit.core.devices import cpu_threads
from mlkit.core.errors import PipelineError, first_line
from mlkit.core.hub import resolve_checkpoint
from mlkit.core.metric_names import Metric
from mlkit.core.params import TransformerParams
from mlkit.modeling.base import VERSIONED, Model, indicator, versions
from mlkit.modeling.distributed import checkpoints, current, data_parallel
from mlkit.modeling.hf_checkpoint import before_loading, freeze, head_labels, place, position_limit
from mlkit.modeling.hf_training import (
    CurvesCallback,
    EpochProgress,
    covering_length,
    environment,
    seeded_trainer,
    tune_thresholds,
)

KEY = "params.yaml: model"


INFERENCE_CHUNK = 4096  # rows tokenized at a time when scoring


class TransformerModel(Model):
    """A sequence classifier plus its tokenizer and (multilabel) the per-label thresholds."""

    backend = "transformer"

    def __init__(self, model: Any, tokenizer: Any, task: str, labels: list[str], positive_label: str | None,
                 max_length: int, params: TransformerParams | None = None, thresholds: list[float] | None = None):
        super().__init__(task, labels, positive_label)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.params = params
        self.thresholds = list(thresholds) if thresholds is not None else [0.5] * len(self.labels)
        self.processes = 1  # data-parallel processes the fit ran on (the model card's environment)

    # ------------------------------------------------------------ construction
    @classmethod
    def build(cls, params: TransformerParams, task: str, labels: list[str],
              positive_label: str | None) -> TransformerModel:
        """Load the checkpoint with a head for `labels`; every check that needs the checkpoint happens here."""
        before_loading()
        from transformers import (
            AutoConfig,
            AutoModelForSequenceClassification,
            AutoTokenizer,
            set_seed,
        )
        from transformers.utils import logging as hf_logging

        source, local = resolve_checkpoint(params.checkpoint, f"{KEY}.checkpoint")
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local)
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        except (OSError, ValueError, KeyError) as exc:
            raise PipelineError(f"{KEY}.checkpoint: cannot load {params.checkpoint!r}: {first_line(exc)}") from None
        limit = position_limit(config, tokenizer)
        if params.max_length != "auto" and params.max_length > limit:
            raise PipelineError(f"{KEY}.max_length: {params.max_length} is over the limit of {params.checkpoint} "
                                f"({limit} tokens)")
        labels = head_labels(config, labels, params.checkpoint)
        problem = "multi_label_classification" if task == "multilabel" else "single_label_classification"
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "newly initialized classifier weights" is the point of fine-tuning
        # Seeded before the head is created: its random weights are part of the result. `deterministic`:
        # torch's deterministic kernels (and cuBLAS' workspace setting on a GPU) for the whole run.
        set_seed(params.seed, deterministic=True)
        dropout = {}
        if params.head_dropout is not None:  # BERT-like: classifier_dropout; DistilBERT: seq_classif_dropout
            name = next((n for n in ("classifier_dropout", "seq_classif_dropout") if hasattr(config, n)), None)
            if name is None:
                raise PipelineError(f"{KEY}.head_dropout: {params.checkpoint}'s config has no dropout setting for "
                                    "its classification head; allowed: null")
            dropout[name] = params.head_dropout
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                source, local_files_only=local, num_labels=len(labels), problem_type=problem,
                id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)}, **dropout)
        except (OSError, ValueError) as exc:
            raise PipelineError(f"{KEY}.checkpoint: cannot load {params.checkpoint!r} for sequence "
                                f"classification: {first_line(exc)}") from None
        finally:
            hf_logging.set_verbosity(verbosity)
        if params.freeze_layers:
            freeze(model, params.freeze_layers, params.checkpoint, f"{KEY}.freeze_layers")
        # auto: the checkpoint's limit until fit measures the train texts
        max_length = limit if params.max_length == "auto" else params.max_length
        return cls(model, tokenizer, task, labels, positive_label, max_length, params)

    # ------------------------------------------------------------ data
    def _targets(self, frame: pd.DataFrame) -> list:
        if self.task == "multilabel":
            return indicator(frame["labels"], self.labels).astype(float).tolist()
        index = {label: i for i, label in enumerate(self.labels)}
        return [index[str(v)] for v in frame["label"]]

    def _encode(self, frame: pd.DataFrame, targets: bool) -> list[dict[str, Any]]:
        """Tokenize once, unpadded: the collator pads each batch to its own longest text."""
        encoded = self.tokenizer(frame["text"].astype(str).tolist(), truncation=True, max_length=self.max_length)
        keys = list(encoded.keys())
        rows = [{k: encoded[k][i] for k in keys} for i in range(len(frame))]
        if targets:
            for row, target in zip(rows, self._targets(frame)):
                row["labels"] = target
        return rows

    # ------------------------------------------------------------ training
    def _loss_function(self, train: pd.DataFrame) -> Any:
        """class_weight: balanced -> weighted cross-entropy (BCE with pos_weight for multilabel)."""
        if self.params is None or self.params.class_weight != "balanced":
            return None
        import torch
        import torch.nn.functional as F

        targets = np.asarray(self._targets(train), dtype=float)
        if self.task == "multilabel":
            positives = targets.sum(axis=0)
            weight = torch.tensor(np.where(positives > 0, (len(targets) - positives) / np.maximum(positives, 1), 1.0),
                                  dtype=torch.float32)
        else:
            counts = np.bincount(targets.astype(int), minlength=len(self.labels))
            weight = torch.tensor(np.where(counts > 0, len(targets) / (len(self.labels) * np.maximum(counts, 1)), 0.0),
                                  dtype=torch.float32)

        def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
            logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
            w = weight.to(logits.device)
            if self.task == "multilabel":
                total = F.binary_cross_entropy_with_logits(logits.float(), labels.float(), pos_weight=w,
                                                           reduction="sum")
                count = labels.numel()
            else:
                total = F.cross_entropy(logits.float(), labels.long(), weight=w, reduction="sum",
                                        label_smoothing=self.params.label_smoothing if self.params else 0.0)
                count = labels.shape[0]
            return total / (num_items_in_batch if num_items_in_batch is not None else count)

        return loss

    def _compute_metrics(self, prediction: Any) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score

        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        truth = np.asarray(prediction.label_ids)
        if self.task == "multilabel":
            guess = (logits > 0).astype(int)  # probability 0.5; the tuned thresholds come after training
            truth = truth.astype(int)
            return {Metric.F1_MICRO: f1_score(truth, guess, average="micro", zero_division=0),
                    Metric.F1_MACRO: f1_score(truth, guess, average="macro", zero_division=0)}
        guess = logits.argmax(axis=1)
        return {Metric.ACCURACY: accuracy_score(truth, guess),
                Metric.F1_MACRO: f1_score(truth, guess, average="macro", labels=range(len(self.labels)),
                                          zero_division=0)}

    def fit(self, train: pd.DataFrame, valid: pd.DataFrame | None = None, live: Any = None) -> dict[str, float]:
        import torch
        from transformers import (
            DataCollatorWithPadding,
            EarlyStoppingCallback,
            TrainingArguments,
        )

        p = self.params
        if p is None:
            raise PipelineError("a loaded transformer model cannot be trained again; build one from params")
        gpu = torch.cuda.is_available()
        rank = current()
        if rank is not None and gpu and torch.cuda.device_count() < rank.local_world:
            raise PipelineError(f"train.processes: {rank.local_world} processes, one per GPU, and this machine shows "
                                f"{torch.cuda.device_count()} GPUs (CUDA_VISIBLE_DEVICES); set it to at most that")
        self.processes = rank.world if rank is not None else 1
        if not gpu:
            torch.set_num_threads(cpu_threads())
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if p.max_length == "auto":
            texts = train["text"].astype(str).tolist()
            lengths = self.tokenizer(texts, truncation=False, verbose=False)["input_ids"]  # no "too long" warning
            self.max_length = covering_length(lengths, self.max_length)
        train_set = self._encode(train, targets=True)
        valid_set = self._encode(valid, targets=True) if valid is not None and len(valid) else None
        timings["tokenize_seconds"] = time.perf_counter() - started
        bf16 = gpu and torch.cuda.is_bf16_supported()
        progress = EpochProgress()
        callbacks: list[Any] = [progress]
        if live is not None:
            callbacks.append(CurvesCallback(live))
        if valid_set and p.patience:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=p.patience))
        with checkpoints(rank) as folder:
            args = TrainingArguments(
                output_dir=folder,
                learning_rate=p.lr,
                num_train_epochs=p.epochs,
                per_device_train_batch_size=p.batch_size,
                per_device_eval_batch_size=p.batch_size * (4 if gpu else 2),
                gradient_accumulation_steps=p.grad_accum,
                warmup_steps=p.warmup_ratio,  # a float in [0, 1): a share of all steps
                weight_decay=p.weight_decay,
                lr_scheduler_type=p.scheduler,
                optim=p.optimizer,
                label_smoothing_factor=p.label_smoothing,  # Trainer's own loss; the weighted one smooths itself
                seed=p.seed,
                data_seed=p.seed,
                full_determinism=True,  # Trainer seeds again, with deterministic kernels, before training
                eval_strategy="epoch" if valid_set else "no",
                save_strategy="epoch" if valid_set else "no",
                logging_strategy="epoch",
                load_best_model_at_end=bool(valid_set),
                metric_for_best_model=str(Metric.F1_MACRO) if valid_set else None,
                greater_is_better=True,
                save_total_limit=1,
                save_only_model=True,
                train_sampling_strategy="group_by_length",
                bf16=bf16,
                fp16=gpu and not bf16,
                dataloader_pin_memory=gpu,
                use_cpu=not gpu,
                report_to="none",
                **data_parallel(rank, gpu),
            )
            trainer = seeded_trainer()(
                model=self.model, args=args, train_dataset=train_set, eval_dataset=valid_set,
                processing_class=self.tokenizer, data_collator=DataCollatorWithPadding(self.tokenizer),
                compute_metrics=self._compute_metrics if valid_set else None,
                compute_loss_func=self._loss_function(train), callbacks=callbacks,
            )
            begun = time.perf_counter()
            result = trainer.train()
            timings["train_seconds"] = time.perf_counter() - begun
            timings["epochs"] = float(trainer.state.epoch or 0)
            timings["train_samples_per_second"] = result.metrics.get("train_samples_per_second", 0.0)
            timings["loop_seconds"] = progress.loop_seconds
            timings["loop_samples_per_second"] = len(train_set) * timings["epochs"] / max(
                progress.loop_seconds, 1e-9)
        self.model = trainer.model
        if self.task == "multilabel" and valid is not None and len(valid):
            self.thresholds = tune_thresholds(self._probabilities(valid), np.asarray(self._targets(valid)),
                                              p.thresholds)
        return timings

    # ------------------------------------------------------------ inference
    def _logits(self, frame: pd.DataFrame) -> np.ndarray:
        import torch
        from transformers import DataCollatorWithPadding

        device = next(self.model.parameters()).device
        batch = 256 if device.type == "cuda" else 64
        collate = DataCollatorWithPadding(self.tokenizer)
        out = np.zeros((len(frame), len(self.labels)), dtype=np.float32)
        self.model.eval()
        # Tokenized a chunk at a time, so memory holds one chunk's tokens whatever the rows; sorted by length
        # within the chunk, so that each batch carries little padding.
        for begin in range(0, len(frame), INFERENCE_CHUNK):
            rows = self._encode(frame.iloc[begin:begin + INFERENCE_CHUNK], targets=False)
            order = np.argsort([len(r["input_ids"]) for r in rows], kind="stable")
            with torch.inference_mode():
                for start in range(0, len(rows), batch):
                    picked = order[start:start + batch]
                    inputs = {k: v.to(device) for k, v in collate([rows[i] for i in picked]).items()}
                    out[begin + picked] = self.model(**inputs).logits.float().cpu().numpy()
        return out

    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        logits = self._logits(frame).astype(float)
        if self.task == "multilabel":
            return 1 / (1 + np.exp(-logits))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def labels_from_scores(self, probabilities: np.ndarray) -> list:
        """`predict`'s labels for rows of `scores`: the likeliest, or (multilabel) each at or above its threshold."""
        if self.task == "multilabel":
            chosen = probabilities >= np.asarray(self.thresholds)
            return [[self.labels[j] for j in np.flatnonzero(row)] for row in chosen]
        return [self.labels[j] for j in probabilities.argmax(axis=1)]

    def predict(self, frame: pd.DataFrame) -> list:
        return self.labels_from_scores(self._probabilities(frame))

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        return self._probabilities(frame)  # probability per label, columns in `self.labels` order

    def predict_with_scores(self, frame: pd.DataFrame) -> tuple[list, np.ndarray]:
        probabilities = self._probabilities(frame)  # one forward pass; the labels are read off it
        return self.labels_from_scores(probabilities), probabilities

    # ------------------------------------------------------------ persistence
    def save_files(self, directory: Path) -> None:
        self.model.save_pretrained(directory)  # model.safetensors + config.json (id2label, label2id)
        self.tokenizer.save_pretrained(directory)

    def card_fields(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "thresholds": [float(t) for t in self.thresholds],
                "environment": environment(self.processes)}

    def library_versions(self) -> dict[str, str]:
        return versions((*VERSIONED, "torch", "transformers", "accelerate", "tokenizers", "safetensors"))

    @classmethod
    def load(cls, directory: Path, card: dict[str, Any]) -> TransformerModel:
        before_loading()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            # safetensors only: a pickled pytorch_model.bin could run code while it loads.
            model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True,
                                                                       use_safetensors=True)
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise PipelineError(f"{directory}: cannot load the transformer model: {first_line(exc)}") from None

        place(model)
        if not isinstance(card.get("max_length"), int):
            raise PipelineError(f"{directory}/card.json: `max_length` is missing or not a number")
        head = [str(model.config.id2label[i]) for i in sorted(model.config.id2label, key=int)]
        if head != list(card["labels"]):
            raise PipelineError(f"{directory}/card.json: its labels ({', '.join(card['labels'])}) are not the "
                                f"model's ({', '.join(head)})")
        return cls(model, tokenizer, card["task"], card["labels"], card.get("positive_label"), card["max_length"],
                   thresholds=card.get("thresholds"))

