"""backtranslate: a text to a pivot language and back, with Apertium (offline, rule-based) or MarianMT."""

from __future__ import annotations

import shutil
import subprocess

from tqdm.auto import tqdm

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.hub import resolve_checkpoint
from mlkit.core.params import AugmentParams

APERTIUM_CODES = {"en": "eng", "es": "spa", "ru": "rus", "uk": "ukr", "fr": "fra", "ca": "cat", "pt": "por"}


def apertium_pairs() -> set[str]:
    if shutil.which("apertium") is None:
        return set()
    listed = subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout
    return {line.strip() for line in listed.splitlines() if line.strip()}


def check_backtranslation(params: AugmentParams) -> None:
    """Fail before any work when the configured round trip has no translator."""
    options = params.backtranslate
    if options.backend == "marian":
        if not (options.checkpoint_to and options.checkpoint_back):
            raise PipelineError(
                f"augment.backtranslate: the marian backend needs checkpoint_to and checkpoint_back "
                f"(e.g. Helsinki-NLP/opus-mt-{params.language}-{options.pivot} and "
                f"Helsinki-NLP/opus-mt-{options.pivot}-{params.language}, or local folders)")
        return
    source, pivot = APERTIUM_CODES.get(params.language), APERTIUM_CODES.get(options.pivot)
    pairs = apertium_pairs()
    wanted = {f"{source}-{pivot}", f"{pivot}-{source}"}
    if not source or not pivot or not wanted <= pairs:
        raise PipelineError(
            f"augment.backtranslate: apertium has no {params.language} -> {options.pivot} -> {params.language} "
            f"round trip here (installed pairs: {', '.join(sorted(pairs)) or 'none, apertium is not installed'}); "
            f"install apertium-{source or params.language}-{pivot or options.pivot} or use backend: marian")


def translate_apertium(texts: list[str], pair: str) -> list[str]:
    # One process for the whole batch: apertium keeps one output line per input line.
    flat = [" ".join(t.split()) for t in texts]
    done = subprocess.run(["apertium", "-u", pair], input="\n".join(flat) + "\n", capture_output=True,
                          text=True, check=False)
    lines = done.stdout.split("\n")[: len(flat)]
    if done.returncode != 0 or len(lines) != len(flat):
        raise PipelineError(f"augment.backtranslate: apertium {pair} failed ({done.stderr.strip()[:200]})")
    return [line.strip() for line in lines]


def translate_marian(texts: list[str], checkpoint: str, batch_size: int, key: str) -> list[str]:
    """Batched seq2seq translation (MarianMT or any seq2seq checkpoint), on the GPU when there is one.
    `key`: the params key naming the checkpoint, for errors."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    source, local = resolve_checkpoint(checkpoint, key)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{key}: cannot load {checkpoint!r} ({first_line(exc)})") from None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    longest = min(256, getattr(model.config, "max_position_embeddings", 512) - 1)  # never past the model's positions
    # An empty text (say, a first leg that came back empty) has nothing to translate: it stays empty.
    todo = [i for i, text in enumerate(texts) if text.strip()]
    out = [""] * len(texts)
    for start in tqdm(range(0, len(todo), batch_size), desc=f"translate {checkpoint}", leave=False):
        rows = todo[start:start + batch_size]
        batch = tokenizer([texts[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                          max_length=longest)
        with torch.inference_mode():
            generated = model.generate(**batch.to(device), max_new_tokens=longest)
        for i, text in zip(rows, tokenizer.batch_decode(generated, skip_special_tokens=True)):
            out[i] = text
    return out


def backtranslate(texts: list[str], params: AugmentParams) -> list[str]:
    options = params.backtranslate
    if options.backend == "marian":
        # check_backtranslation() has already required both checkpoints
        assert options.checkpoint_to is not None and options.checkpoint_back is not None
        there = translate_marian(texts, options.checkpoint_to, options.batch_size,
                                 "augment.backtranslate.checkpoint_to")
        return translate_marian(there, options.checkpoint_back, options.batch_size,
                                "augment.backtranslate.checkpoint_back")
    source, pivot = APERTIUM_CODES[params.language], APERTIUM_CODES[options.pivot]
    return translate_apertium(translate_apertium(texts, f"{source}-{pivot}"), f"{pivot}-{source}")
