"""data.streaming's data layer: fetch writes the same dataset and card as the in-memory fetch, and the split
by a hash of each text is deterministic, near the shares asked for, and never puts a text in two splits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlkit.core.batches import iter_frames
from mlkit.core.params import DataParams, SplitParams
from mlkit.core.paths import SPLITS
from mlkit.core.table import dedupe_key
from mlkit.data.dataset import build_dataset
from mlkit.data.streaming import fetch_streamed, split_places, split_streamed

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)

NO_STRATIFY = SplitParams(stratify=False)


def texts(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = np.array(["storm", "calm", "quake", "rain", "sun", "wind", "flood", "fire", "snow", "fog"])
    return [" ".join(rng.choice(words, size=6)) + f" {i}" for i in range(count)]


def chunks(rows: list[tuple[str, str]], size: int) -> list[pd.DataFrame]:
    frame = pd.DataFrame(rows, columns=["text", "label"]).assign(row=range(len(rows)), source="s")
    return [frame.iloc[start:start + size] for start in range(0, len(frame), size)]


def test_streamed_fetch_writes_the_in_memory_fetchs_rows_and_card(tmp_path) -> None:
    """Dedupe (case and spacing), conflicting labels and data.limit settled as build_dataset settles them."""
    base = texts(3000)
    rows = [(text, "abc"[i % 3]) for i, text in enumerate(base)]
    rows += [(base[i].upper(), "abc"[i % 3]) for i in range(0, 300, 3)]  # duplicates, same label
    rows += [("  " + base[i] + "  ", "abc"[(i + 1) % 3]) for i in range(1, 300, 7)]  # conflicting labels
    params = DataParams(sources=[{"kind": "digits"}], limit=2500, conflicts="majority")
    expected, card = build_dataset(chunks(rows, 1000), params)
    streamed = fetch_streamed(chunks(rows, 1000), params, tmp_path / "raw.parquet")
    written = pd.concat(iter_frames(tmp_path / "raw.parquet"), ignore_index=True)
    assert written[["id", "text", "label", "source"]].astype(str).equals(expected[["id", "text", "label",
                                                                                  "source"]].astype(str))
    assert json.dumps(streamed) == json.dumps(card)


def test_a_text_and_its_duplicates_land_in_one_split() -> None:
    """The split follows fetch's dedupe key (case folded): variants of a text never straddle splits."""
    base = pd.Series(texts(20_000), dtype="string")
    variants = pd.concat([base, base.str.upper(), base.str.title()], ignore_index=True)
    places = split_places(variants, NO_STRATIFY)
    assert (places.reshape(3, -1) == places[:len(base)]).all()
    shares = np.bincount(places[:len(base)], minlength=3) / len(base)
    assert shares == pytest.approx([0.7, 0.15, 0.15], abs=0.01)
    assert (split_places(base, NO_STRATIFY) == places[:len(base)]).all()  # deterministic
    other = split_places(base, SplitParams(stratify=False, seed=7))
    assert (other != places[:len(base)]).mean() > 0.3  # split.seed draws another split


def test_streamed_split_keeps_every_row_once_and_no_text_in_two_splits(tmp_path) -> None:
    base = texts(5000, seed=1)
    rows = [(text, "abc"[i % 3]) for i, text in enumerate(base)] + [(t.upper(), "a") for t in base[:500]]
    raw = pd.DataFrame(rows, columns=["text", "label"]).assign(source="s")
    raw["id"] = [f"{i:016x}" for i in range(len(raw))]
    raw.to_parquet(tmp_path / "raw.parquet", index=False)
    stats = split_streamed(tmp_path / "raw.parquet", NO_STRATIFY, tmp_path)
    parts = {name: pd.read_parquet(tmp_path / f"{name}.parquet") for name in SPLITS}
    assert sorted(pd.concat(parts.values())["id"]) == sorted(raw["id"])
    keys = [set(dedupe_key(part["text"].astype(str))) for part in parts.values()]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert {name: stats[name]["rows"] for name in SPLITS} == {name: len(part) for name, part in parts.items()}
    assert set(parts["test"]["label"]) == {"a", "b", "c"} and stats["texts_in_two_splits"] == 0
