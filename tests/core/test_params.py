"""The params schema: every preset is valid, and each bad value is named in one line."""

from pathlib import Path

import pytest
import yaml

from mlkit.core.errors import PipelineError
from mlkit.core.params import validate
from mlkit.testing import ROOT, committed

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)


PRESETS = sorted((ROOT / "presets").glob("*.yaml"))


def default() -> dict:
    return yaml.safe_load((ROOT / "presets" / "default.yaml").read_text())


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_every_preset_is_valid(preset: Path) -> None:
    validate(yaml.safe_load(preset.read_text()))


def test_params_yaml_is_the_default_preset() -> None:
    """The committed params.yaml, not the workspace's: applying a preset changes that one, rightly."""
    assert yaml.safe_load(committed("params.yaml")) == default()


def test_a_section_left_out_gets_the_default_presets_values() -> None:
    """A params.yaml that names only its data trains the default model on the default features."""
    raw = default()
    bare = validate({"data": raw["data"]}).model_dump(mode="json")
    full = validate(raw).model_dump(mode="json")
    for section in full:
        assert bare[section] == full[section], section


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("model", {"gamma": -1}, "model.gamma: must be a number > 0, 'scale' or 'auto' (got -1)"),
        ("model", {"gamma": "wide"}, "model.gamma: must be a number > 0, 'scale' or 'auto' (got 'wide')"),
        ("model", {"C": 0}, "model.C: Input should be greater than 0 (got 0)"),
        ("model", {"type": "xgboost"},
         "model.type: Input should be 'svc', 'linear_svc', 'logreg', 'random_forest', 'sgd' or 'transformer' (got 'xgboost')"),
        ("model", {"gama": 0.1}, "model.gama: unknown key"),
        ("split", {"train": 0.8}, "split: train + valid + test must sum to 1 (got 0.8 + 0.15 + 0.15 = 1.1)"),
        ("features", {"word_ngrams": [2, 1]}, "features.word_ngrams: must be [low, high] with 1 <= low <= high"),
        ("features", {"hashing": 2**20}, "features: hashing 1048576 keeps no vocabulary, so min_df and max_features "
         "cannot prune it: set min_df: 1 and max_features: null (got 2 and null)"),
        ("features", {"hashing": 100, "min_df": 1}, "features.hashing: Input should be greater than or equal to 1024"),
        ("features", {"word_ngrams": None}, "features: word_ngrams, char_ngrams and embedding are all null: no "
         "features left"),
        ("evaluate", {"train_rows": 0}, "evaluate.train_rows: Input should be greater than or equal to 1 (got 0)"),
        ("augment", {"methods": ["shout"]}, "augment.methods: unknown method 'shout'"),
        ("compare", {"metric": "auc"}, "compare.metric: Input should be"),
    ],
)
def test_bad_value_names_key_and_allowed_values(section: str, values: dict, expected: str) -> None:
    raw = default()
    raw[section].update(values)
    with pytest.raises(PipelineError) as caught:
        validate(raw)
    message = str(caught.value)
    assert message.startswith("params.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_unknown_source_kind_lists_the_kinds() -> None:
    raw = default()
    raw["data"]["sources"] = [{"kind": "ftp", "path": "x"}]
    with pytest.raises(PipelineError, match=r"data.sources\[0\]: unknown kind 'ftp'; allowed: file, hub, embedded, digits"):
        validate(raw)


def test_source_error_names_the_list_position() -> None:
    raw = default()
    raw["data"]["sources"].append({"kind": "file"})
    with pytest.raises(PipelineError, match=r"data.sources\[1\].path: missing"):
        validate(raw)


def test_label_map_keys_are_text() -> None:
    raw = default()
    raw["data"]["label_map"] = {0: "calm", 1: "disaster"}
    assert validate(raw).data.label_map == {"0": "calm", "1": "disaster"}
