"""The table contract between stages: `id`, `text` (or `features`), `label` (or `labels`), `source`."""

from __future__ import annotations

from typing import Any

import pandas as pd


def label_key(frame: pd.DataFrame) -> str:
    """The column holding the target: `labels` (a list per row) for multilabel, else `label`."""
    return "labels" if "labels" in frame.columns else "label"


def has_text(frame: pd.DataFrame) -> bool:
    return "text" in frame.columns


def dedupe_key(texts: pd.Series) -> pd.Series:
    """Texts that differ only in case count as the same text (spacing is normalised in fetch)."""
    return texts.str.casefold()


def natural(value: str) -> tuple[int, Any]:
    """Sort "2" before "10" and numbers before words."""
    return (0, int(value)) if value.lstrip("-").isdigit() else (1, value)


def label_counts(frame: pd.DataFrame) -> dict[str, int]:
    key = label_key(frame)
    values = frame[key] if key == "label" else frame[key].explode()
    counts = values.value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: natural(str(kv[0])))}
