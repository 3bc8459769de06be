"""Running the augmentation methods over the train split: seeded chunks, de-duplication, balancing."""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter

import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from mlkit.core.errors import PipelineError
from mlkit.core.params import AugmentParams
from mlkit.core.table import dedupe_key, has_text, label_counts, label_key
from mlkit.data.augment.asr_noise import asr_noise
from mlkit.data.augment.backtranslate import backtranslate, check_backtranslation
from mlkit.data.augment.emoji_text import emoji_to_words
from mlkit.data.augment.synonyms import replace_synonyms

CHUNK = 500  # texts per task; fixed so results do not depend on the number of processes


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
        from mlkit.data.wordnet import load

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
    assert options.target_share is not None  # augment_train() balances only when a target share is set
    while plan := balance_plan(pool.frame(), options.target_share):
        # Every added row dilutes the other labels' shares: take the neediest label, then plan again.
        label, missing = max(plan.items(), key=lambda item: (item[1], item[0]))
        has_label = train[pool.key].map(lambda v, want=label: v == want if isinstance(v, str) else want in list(v))
        texts = train[has_label]
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
