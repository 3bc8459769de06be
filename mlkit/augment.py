"""Train-split augmentation: each method turns a list of texts into one variant per text.

Methods are plain functions (texts, random generator) -> texts, testable alone. `augment_train`
applies the configured ones, drops variants that change nothing or repeat a text already in the
data, and balances rare classes by augmenting their texts.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import string
import subprocess
import zlib
from collections import Counter
from functools import lru_cache

import pandas as pd
from joblib import Parallel, delayed
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from tqdm.auto import tqdm

from mlkit.errors import PipelineError
from mlkit.hub import first_line, resolve_checkpoint
from mlkit.params import AugmentParams
from mlkit.table import dedupe_key, has_text, label_counts, label_key

CHUNK = 500  # texts per task; fixed so results do not depend on the number of processes
PROTECTED = re.compile(r"^(?:[#@]|https?://|www\.)")  # hashtags, mentions and URLs stay as they are
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
WORDNET_POS = ("n", "v", "a", "r")


# ------------------------------------------------------------------ WordNet synonyms
@lru_cache(maxsize=None)
def synonyms_of(word: str) -> tuple[str, ...]:
    """Synonyms from the word's main part of speech (the one with most WordNet senses), first senses first.

    Sense counts from the tagged corpus (lemma.count()) would rank parts of speech a little better but
    cost a file search per lemma: five times slower for the same choice in most words.
    """
    from mlkit.wordnet import load

    wordnet = load()
    best: list = []
    for pos in WORDNET_POS:
        lemma = wordnet.morphy(word, pos)
        synsets = wordnet.synsets(lemma, pos) if lemma else []
        if len(synsets) > len(best):
            best = synsets
    best = best[:2]  # WordNet lists senses by frequency: rarer ones drift in meaning
    names = []
    for synset in best:
        for lemma in synset.lemmas():
            name = lemma.name().replace("_", " ")
            if name.lower() != word and name not in names:
                names.append(name)
    return tuple(names)


def replace_synonyms(text: str, rng: random.Random, rate: float) -> str:
    """Replace `rate` of the eligible words by a WordNet synonym.

    Eligible: alphabetic, not a stopword, not in a hashtag, mention or URL, and not capitalised
    mid-sentence (a cheap stand-in for named-entity detection: names have no synonyms).
    """
    pieces = text.split(" ")
    slots = []
    for i, piece in enumerate(pieces):
        if PROTECTED.match(piece):
            continue
        match = WORD.search(piece)
        if not match:
            continue
        word = match.group()
        sentence_start = i == 0 or pieces[i - 1].endswith((".", "!", "?"))
        if word.lower() in ENGLISH_STOP_WORDS or len(word) < 3 or (word[0].isupper() and not sentence_start):
            continue
        if synonyms_of(word.lower()):
            slots.append((i, match))
    count = max(1, round(rate * len(slots))) if rate > 0 else 0  # a short text still gets one change
    for i, match in rng.sample(slots, min(count, len(slots))):
        word = match.group()
        choice = rng.choice(synonyms_of(word.lower()))
        if word[0].isupper():
            choice = choice[0].upper() + choice[1:]
        pieces[i] = pieces[i][: match.start()] + choice + pieces[i][match.end():]
    return " ".join(pieces)


# ------------------------------------------------------------------ emoji and ASR-style noise
def emoji_to_words(text: str, mode: str) -> str:
    import emoji

    if mode == "remove":
        return " ".join(emoji.replace_emoji(text, replace="").split())
    spaced = emoji.demojize(text, delimiters=(" ", " "))
    return " ".join(spaced.replace("_", " ").split())


# Apostrophes vanish ("can't" -> "cant", as transcripts write it); other punctuation splits words.
PUNCTUATION = str.maketrans({c: "" if c in "'’" else " " for c in string.punctuation + "«»“”„…—–’"})


def asr_noise(text: str, rng: random.Random, typo_rate: float, drop_rate: float) -> str:
    """What a speech recogniser makes of a text: lower case, no punctuation, dropped words, typos."""
    words = [w for w in text.lower().translate(PUNCTUATION).split() if rng.random() >= drop_rate] or text.split()[:1]
    noisy = []
    for word in words:
        chars = list(word)
        for i in range(len(chars)):
            if rng.random() < typo_rate:
                kind = rng.randrange(3)
                if kind == 0 and i + 1 < len(chars):
                    chars[i], chars[i + 1] = chars[i + 1], chars[i]  # swap neighbours
                elif kind == 1:
                    chars[i] = ""  # drop
                else:
                    chars[i] = chars[i] * 2  # double
        noisy.append("".join(chars))
    return " ".join(w for w in noisy if w)


# ------------------------------------------------------------------ back-translation
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
        there = translate_marian(texts, options.checkpoint_to, options.batch_size,
                                 "augment.backtranslate.checkpoint_to")
        return translate_marian(there, options.checkpoint_back, options.batch_size,
                                "augment.backtranslate.checkpoint_back")
    source, pivot = APERTIUM_CODES[params.language], APERTIUM_CODES[options.pivot]
    return translate_apertium(translate_apertium(texts, f"{source}-{pivot}"), f"{pivot}-{source}")


# ------------------------------------------------------------------ running methods
def _chunk(method: str, texts: list[str], seed: int, params: AugmentParams) -> list[str]:
    rng = random.Random(seed)
    if method == "synonyms":
        return [replace_synonyms(t, rng, params.synonyms.rate) for t in texts]
    if method == "asr_noise":
        return [asr_noise(t, rng, params.asr_noise.typo_rate, params.asr_noise.drop_rate) for t in texts]
    return [emoji_to_words(t, params.emoji.mode) for t in texts]


def variants(method: str, texts: list[str], params: AugmentParams, copy: int = 0) -> list[str]:
    """One variant of each text; seeded per (method, copy, chunk), so the same params give the same rows."""
    if method == "backtranslate":
        return backtranslate(texts, params)
    chunks = [texts[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]
    seeds = [zlib.crc32(f"{params.seed}:{method}:{copy}:{i}".encode()) for i in range(len(chunks))]
    jobs = 1 if method == "emoji" or len(chunks) == 1 else params.n_jobs
    progress = tqdm(zip(chunks, seeds), total=len(chunks), desc=f"augment {method}", leave=False)
    results = Parallel(n_jobs=jobs)(delayed(_chunk)(method, c, s, params) for c, s in progress)
    return [text for chunk in results for text in chunk]


def copies_of(method: str, params: AugmentParams) -> int:
    return getattr(getattr(params, method), "copies", 1)


def check(params: AugmentParams, methods: list[str]) -> None:
    """Refuse what cannot work before any work is done."""
    if "synonyms" in methods and params.language != "en":
        raise PipelineError(f"augment.methods: synonyms uses the English WordNet; augment.language is "
                            f"{params.language!r} (use backtranslate, emoji or asr_noise instead)")
    if "synonyms" in methods:
        from mlkit.wordnet import load

        load()
    if "backtranslate" in methods:
        check_backtranslation(params)


class Pool:
    """The growing train set: keeps every text once and counts what it refused and why."""

    def __init__(self, train: pd.DataFrame, held_out: set[str]):
        self.key = label_key(train)
        self.rows: list[pd.DataFrame] = [train.assign(origin_id="", method="original")]
        self.seen = set(dedupe_key(train["text"]))
        self.held_out = held_out
        self.refused: Counter = Counter()

    def add(self, origin: pd.DataFrame, texts: list[str], method: str, copy: int) -> list[str]:
        """Add the new, distinct variants; returns the ids of the texts they came from."""
        keep = []
        for (_, row), text in zip(origin.iterrows(), texts):
            key = text.casefold()
            if not text.strip() or key == row["text"].casefold():
                self.refused["unchanged"] += 1
            elif key in self.held_out:
                self.refused["equal to a valid or test text"] += 1
            elif key in self.seen:
                self.refused["repeats a train text"] += 1
            else:
                self.seen.add(key)
                keep.append({"id": f"{row['id']}-{method}-{copy}", "text": text, self.key: row[self.key],
                             "source": row["source"], "origin_id": row["id"], "method": method})
        if keep:
            self.rows.append(pd.DataFrame(keep))
        return [row["origin_id"] for row in keep]

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.rows, ignore_index=True)


def balance_plan(frame: pd.DataFrame, target: float) -> dict[str, int]:
    """How many rows each rare class (label) still needs to reach `target` share of the train set."""
    counts = label_counts(frame)
    total = len(frame)
    need = {}
    for label, count in counts.items():
        # adding n rows of this class: (count + n) / (total + n) >= target
        missing = math.ceil((target * total - count) / (1 - target)) if target < 1 else 0
        if missing > 0:
            need[label] = missing
    return need


def balance(pool: Pool, train: pd.DataFrame, params: AugmentParams) -> dict[str, int]:
    """Augment texts of each rare class (label) until it reaches the target share; no text gives more
    than max_copies variants, also when it carries several rare labels. Returns what is still missing."""
    options = params.balance
    made: Counter = Counter()  # balancing variants per origin text
    tried: Counter = Counter()  # rounds per label, so each round draws a fresh seed
    stalled: Counter = Counter()  # rounds in a row that added nothing
    while plan := balance_plan(pool.frame(), options.target_share):
        # Every added row dilutes the other labels' shares: take the neediest label, then plan again.
        label, missing = max(plan.items(), key=lambda item: (item[1], item[0]))
        texts = train[train[pool.key].map(lambda v: v == label if isinstance(v, str) else label in list(v))]
        if len(texts) * options.max_copies < missing:
            raise PipelineError(
                f"augment.balance.target_share: {options.target_share} needs {missing} more rows of {label!r} "
                f"but its {len(texts)} train texts give at most {len(texts) * options.max_copies} "
                f"(augment.balance.max_copies: {options.max_copies}); lower the target or raise max_copies")
        batch = texts[texts["id"].map(lambda i: made[i] < options.max_copies)].head(missing)
        round_ = tried[label]
        tried[label] += 1
        method = options.methods[round_ % len(options.methods)]
        copy = 100 + zlib.crc32(label.encode()) % 1000 * 100 + round_  # a fresh seed per label and round
        kept = pool.add(batch, variants(method, batch["text"].tolist(), params, copy), f"balance:{method}", copy)
        stalled[label] = 0 if kept else stalled[label] + 1
        if batch.empty or stalled[label] == 3:
            break  # every text of this label is at its cap, or its variants only repeat: stop and report
        made.update(kept)
    return plan


def augment_train(train: pd.DataFrame, held_out: pd.Series, params: AugmentParams) -> tuple[pd.DataFrame, dict]:
    """The augmented train set (originals first) and its card."""
    methods = list(params.methods) + (list(params.balance.methods) if params.balance.target_share else [])
    if not has_text(train):
        if methods:
            raise PipelineError("augment: this dataset has numeric features, no text to augment; "
                                "set augment.methods: [] and augment.balance.target_share: null")
        return train, {"methods": [], "rows_before": len(train), "rows_after": len(train),
                       "rows_per_method": {"original": len(train)},
                       "labels_before": label_counts(train), "labels_after": label_counts(train)}
    check(params, methods)
    pool = Pool(train, set(dedupe_key(held_out)))
    for method in params.methods:
        for copy in range(copies_of(method, params)):
            pool.add(train, variants(method, train["text"].tolist(), params, copy), method, copy)
    unmet = balance(pool, train, params) if params.balance.target_share else {}
    augmented = pool.frame()
    card = {
        "methods": params.methods,
        "rows_before": len(train),
        "rows_after": len(augmented),
        "rows_per_method": {str(k): int(v) for k, v in augmented["method"].value_counts().items()},
        "labels_before": label_counts(train),
        "labels_after": label_counts(augmented),
        "refused": dict(pool.refused),
        "balance_unmet": unmet,
        "equal_to_valid_or_test": int(augmented["text"].str.casefold().isin(pool.held_out).sum()),
    }
    return augmented, card
