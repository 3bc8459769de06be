"""asr_noise: what a speech recogniser makes of a text: lower case, no punctuation, dropped words, typos."""

from __future__ import annotations

import random
import string

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
