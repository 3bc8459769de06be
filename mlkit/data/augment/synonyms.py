"""synonyms: replace some words by WordNet synonyms (English)."""

from __future__ import annotations

import random
import re
from functools import cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

PROTECTED = re.compile(r"^(?:[#@]|https?://|www\.)")  # hashtags, mentions and URLs stay as they are
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
WORDNET_POS = ("n", "v", "a", "r")


@cache
def synonyms_of(word: str) -> tuple[str, ...]:
    """Synonyms from the word's main part of speech (the one with most WordNet senses), first senses first.

    Sense counts from the tagged corpus (lemma.count()) would rank parts of speech a little better but
    cost a file search per lemma: five times slower for the same choice in most words.
    """
    from mlkit.data.wordnet import load

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
