"""Splits: the ratios asked for, stratified, reproducible, and no text in two splits."""

from __future__ import annotations

import pandas as pd
import pytest

from mlkit.core.errors import PipelineError
from mlkit.core.params import DataParams, FileSource, SplitParams
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.data.split import overlap, split_frame
from mlkit.testing import ROOT, dataset

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)

RU_LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]


@pytest.fixture(scope="module")
def emotion() -> pd.DataFrame:
    frames = [read_source(FileSource(kind="file", path=str(dataset(f"emotion/{n}.txt")))) for n in ("train", "val")]
    return build_dataset(frames, DataParams(sources=[{"kind": "digits"}]))[0]


@pytest.fixture(scope="module")
def russian() -> pd.DataFrame:
    raw = read_source(FileSource(kind="file", path=str(dataset("ru_emotion_cryptonite/valid.csv")),
                                 label_columns=RU_LABELS))
    return build_dataset([raw], DataParams(sources=[{"kind": "digits"}]))[0]


def test_default_ratios_and_stratification(emotion: pd.DataFrame) -> None:
    parts = split_frame(emotion, SplitParams())
    sizes = {name: len(part) / len(emotion) for name, part in parts.items()}
    assert sizes == pytest.approx({"train": 0.7, "valid": 0.15, "test": 0.15}, abs=0.002)
    whole = emotion["label"].value_counts(normalize=True)
    for part in parts.values():
        shares = part["label"].value_counts(normalize=True).reindex(whole.index)
        assert shares.to_numpy(float) == pytest.approx(whole.to_numpy(float), abs=0.005)
    assert overlap(parts) == 0
    assert sum(len(p) for p in parts.values()) == len(emotion)


def test_same_seed_same_split_other_seed_other_split(emotion: pd.DataFrame) -> None:
    first = split_frame(emotion, SplitParams())["test"]["id"].tolist()
    assert split_frame(emotion, SplitParams())["test"]["id"].tolist() == first
    assert split_frame(emotion, SplitParams(seed=7))["test"]["id"].tolist() != first


def test_multilabel_split_keeps_every_label_in_every_split(russian: pd.DataFrame) -> None:
    parts = split_frame(russian, SplitParams())
    total = russian["labels"].explode().value_counts()
    for name, part in parts.items():
        counts = part["labels"].explode().value_counts()
        share = len(part) / len(russian)
        assert set(counts.index) == set(RU_LABELS), name
        # iterative stratification: each label's share within 2 points of the split's share
        assert ((counts / total).reindex(total.index) - share).abs().max() < 0.02, name
    assert overlap(parts) == 0


def test_class_too_small_to_stratify_is_named() -> None:
    frame = pd.DataFrame({"id": list("abcdefgh"), "text": list("abcdefgh"), "label": ["x"] * 6 + ["rare"] * 2,
                          "source": "s"})
    with pytest.raises(PipelineError, match=r"split: label 'rare' has 2 row\(s\); stratified splitting needs at least 3"):
        split_frame(frame, SplitParams())


def test_duplicate_texts_are_refused() -> None:
    frame = pd.DataFrame({"id": list("abcdef"), "text": ["same", "Same", "c", "d", "e", "f"], "label": list("xyxyxy"),
                          "source": "s"})
    with pytest.raises(PipelineError, match="same text twice"):
        split_frame(frame, SplitParams(stratify=False))


def frame_of(*texts: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": list(texts), "label": "x", "source": "s"})


def test_overlap_counts_each_text_standing_in_two_splits() -> None:
    """The split stage's own guard: texts equal up to case count as the same text."""
    parts = {"train": frame_of("a storm", "calm sea", "Fire"), "valid": frame_of("A Storm", "wind"),
             "test": frame_of("fire", "rain")}
    assert overlap(parts) == 2
    assert overlap({**parts, "valid": frame_of("wind"), "test": frame_of("rain")}) == 0


def test_split_stage_refuses_splits_that_share_a_text(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the splitter ever put one text in two splits, the stage stops and writes nothing."""
    import stages.split as stage

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((ROOT / "presets" / "default.yaml").read_text())
    leaky = {"train": frame_of("a storm", "calm sea"), "valid": frame_of("A STORM"), "test": frame_of("rain")}
    monkeypatch.setattr(stage, "read_table", lambda path: frame_of("a storm", "calm sea", "rain"))
    monkeypatch.setattr(stage, "split_frame", lambda frame, params: leaky)
    with pytest.raises(PipelineError, match=r"split: 1 text\(s\) would stand in two splits"):
        stage.main()
    assert not (tmp_path / "data" / "split").exists()
