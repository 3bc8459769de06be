"""Augmentation: each method alone, the rules every augmented row follows, and the stage under DVC."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pandas as pd
import pytest

from mlkit.core.errors import PipelineError
from mlkit.core.params import AugmentParams, DataParams, FileSource, SplitParams
from mlkit.data.augment import (
    asr_noise,
    augment_train,
    backtranslate,
    balance_plan,
    emoji_to_words,
    replace_synonyms,
    variants,
)
from mlkit.data.dataset import build_dataset
from mlkit.data.sources import read_source
from mlkit.data.split import split_frame
from mlkit.testing import Project, dataset

RU_LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]


@pytest.fixture(scope="module")
def tweets() -> dict[str, pd.DataFrame]:
    raw = read_source(FileSource(kind="file", path=str(dataset("disaster_tweets/train.csv")), label_column="target"))
    frame, _ = build_dataset([raw], DataParams(sources=[{"kind": "digits"}], label_map={"0": "calm", "1": "disaster"}))
    return split_frame(frame, SplitParams())


@pytest.fixture(scope="module")
def russian() -> dict[str, pd.DataFrame]:
    raw = read_source(FileSource(kind="file", path=str(dataset("ru_emotion_cryptonite/valid.csv")),
                                 label_columns=RU_LABELS))
    return split_frame(build_dataset([raw], DataParams(sources=[{"kind": "digits"}]))[0], SplitParams())


def test_synonyms_change_words_but_not_tags_mentions_urls_or_stopwords() -> None:
    text = "@mayor the terrible flood destroyed houses http://t.co/x1 #flood"
    changed = {replace_synonyms(text, random.Random(seed), rate=1.0) for seed in range(5)}
    assert text not in changed and len(changed) > 1
    for variant in changed:
        words = variant.split(" ")
        assert words[0] == "@mayor" and words[1] == "the" and "http://t.co/x1" in words and words[-1] == "#flood"


def test_synonyms_are_seeded_and_rate_zero_changes_nothing(tweets) -> None:
    texts = tweets["train"]["text"].head(200).tolist()
    first = [replace_synonyms(t, random.Random(3), 0.2) for t in texts]
    assert first == [replace_synonyms(t, random.Random(3), 0.2) for t in texts]
    assert sum(a != b for a, b in zip(first, texts)) > 150
    assert [replace_synonyms(t, random.Random(3), 0.0) for t in texts] == texts


def test_emoji_become_words_or_vanish() -> None:
    assert emoji_to_words("so happy 😂 today", "words") == "so happy face with tears of joy today"
    assert emoji_to_words("so happy 😂 today", "remove") == "so happy today"


def test_asr_noise_looks_like_a_transcript() -> None:
    noisy = asr_noise("I can't believe it, the FIRE is spreading!", random.Random(0), typo_rate=0.0, drop_rate=0.0)
    assert noisy == "i cant believe it the fire is spreading"
    rng = random.Random(1)
    typos = [asr_noise("the quick brown fox jumps over the lazy dog", rng, 0.2, 0.3) for _ in range(20)]
    assert all(t == t.lower() for t in typos) and len(set(typos)) > 15


def test_apertium_back_translation_round_trips(tweets) -> None:
    texts = tweets["train"]["text"].head(100).tolist()
    back = backtranslate(texts, AugmentParams(methods=["backtranslate"]))
    assert len(back) == 100 and all(isinstance(t, str) for t in back)
    assert 10 < sum(a != b for a, b in zip(back, texts)) < 100


def test_parallel_results_do_not_depend_on_the_number_of_processes(tweets) -> None:
    texts = tweets["train"]["text"].head(1200).tolist()
    one = variants("asr_noise", texts, AugmentParams(n_jobs=1))
    assert variants("asr_noise", texts, AugmentParams(n_jobs=2)) == one


def test_augmented_rows_record_origin_and_never_copy_valid_or_test(tweets) -> None:
    train = tweets["train"].head(800)
    held_out = pd.concat([tweets["valid"]["text"], tweets["test"]["text"]])
    # a train text that equals a held-out text after noise must be refused: plant one
    held_out = pd.concat([held_out, pd.Series([asr_noise(train["text"].iloc[0], random.Random(0), 0, 0)])])
    params = AugmentParams(methods=["synonyms", "emoji", "asr_noise"], asr_noise={"typo_rate": 0, "drop_rate": 0})
    augmented, card = augment_train(train, held_out, params)
    new = augmented[augmented["method"] != "original"]
    assert set(new["method"]) == {"synonyms", "emoji", "asr_noise"}
    assert new["origin_id"].isin(train["id"]).all()
    origin = train.set_index("id").loc[new["origin_id"], "label"].to_numpy()
    assert (new["label"].to_numpy() == origin).all()
    assert card["equal_to_valid_or_test"] == 0 and card["refused"]["equal to a valid or test text"] >= 1
    assert not augmented["text"].str.casefold().duplicated().any()
    assert card["rows_after"] == len(augmented) == len(train) + len(new)
    again, _ = augment_train(train, held_out, params)
    pd.testing.assert_frame_equal(augmented, again)


def test_balancing_lifts_rare_labels_with_new_texts(russian) -> None:
    train = russian["train"]
    params = AugmentParams(language="ru", balance={"target_share": 0.06, "max_copies": 3, "methods": ["asr_noise"]})
    before = balance_plan(train, 0.06)
    assert {"disgust", "fear"} <= set(before)
    augmented, card = augment_train(train, russian["valid"]["text"], params)
    after = balance_plan(augmented, 0.06)
    assert not set(after) & {"disgust", "fear"}
    assert set(augmented["method"]) == {"original", "balance:asr_noise"}
    per_origin = augmented[augmented["method"] != "original"]["origin_id"].value_counts()
    assert per_origin.max() <= 3


@pytest.mark.parametrize(("params", "expected"), [
    (dict(language="ru", methods=["synonyms"]), "augment.methods: synonyms uses the English WordNet"),
    (dict(methods=["backtranslate"], backtranslate={"pivot": "de"}),
     "augment.backtranslate: apertium has no en -> de -> en round trip here (installed pairs:"),
    (dict(methods=["backtranslate"], backtranslate={"backend": "marian"}),
     "augment.backtranslate: the marian backend needs checkpoint_to and checkpoint_back"),
    (dict(balance={"target_share": 0.4, "max_copies": 1, "methods": ["asr_noise"]}, language="ru"),
     "augment.balance.target_share: 0.4 needs"),
])
def test_impossible_settings_fail_before_work(russian, params: dict, expected: str) -> None:
    with pytest.raises(PipelineError, match=expected.replace("(", r"\(").replace(".", r"\.")):
        augment_train(russian["train"], russian["valid"]["text"], AugmentParams(**params))


def test_rates_outside_zero_one_are_refused() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        AugmentParams(synonyms={"rate": 1.5})


def test_missing_wordnet_says_how_to_get_it() -> None:
    code = ("import nltk; nltk.data.path[:] = []\n"
            "from mlkit.core.errors import PipelineError\nfrom mlkit.data.wordnet import load\n"
            "try:\n    load()\nexcept PipelineError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "WordNet for nltk is missing: run `mlkit wordnet`" in out
    assert "nltk.download('wordnet')" in out and "apt-get install wordnet-base wordnet-sense-index" in out


def test_augment_stage_under_dvc_is_deterministic(project: Project) -> None:
    project.set_params(augment={"methods": ["synonyms", "asr_noise"]})
    project.dvc("repro")
    card = json.loads(project.file("metrics/augment.json").read_text())
    assert card["rows_after"] > 1.8 * card["rows_before"]
    assert card["equal_to_valid_or_test"] == 0
    assert {"synonyms", "asr_noise"} <= card["rows_per_method"].keys()
    before = project.file("data/augmented/train.parquet").read_bytes()
    rerun = project.dvc("repro", "-f", "-s", "augment")
    assert project.file("data/augmented/train.parquet").read_bytes() == before, rerun.stdout
    assert "Data and pipelines are up to date" in project.dvc("status").stdout


def test_bad_augment_params_are_refused_before_augment_runs(project: Project) -> None:
    project.dvc("repro")
    before = project.file("data/augmented/train.parquet").read_bytes()
    failed = project.dvc("exp", "run", "-S", "augment.synonyms.rate=2", check=False)
    assert failed.returncode != 0
    assert "error: params.yaml: augment.synonyms.rate: Input should be less than or equal to 1 (got 2)" in failed.stderr
    failed = project.dvc("exp", "run", "-S", "augment.methods=[paraphrase]", check=False)
    assert "augment.methods: unknown method 'paraphrase'; allowed: synonyms, backtranslate, emoji, asr_noise" in failed.stderr
    assert "Running stage 'augment'" not in failed.stdout  # refused by validate, before augment removes anything
    assert project.file("data/augmented/train.parquet").read_bytes() == before


def tiny_seq2seq(folder) -> str:
    """A 2-layer MarianMT with random weights and a word-level tokenizer: the Marian code path, offline."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(["the storm destroyed many houses near the river", "la tormenta destruyó casas"],
                              trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    words.decoder = decoders.WordPiece()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = MarianConfig(vocab_size=tokenizer.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                          max_position_embeddings=24, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)  # the same random weights every run
    MarianMTModel(config).save_pretrained(folder)
    return str(folder)


def test_marian_back_translation_runs_batched_through_transformers(tmp_path) -> None:
    pytest.importorskip("torch")
    model = tiny_seq2seq(tmp_path / "marian")
    params = AugmentParams(methods=["backtranslate"], backtranslate={
        "backend": "marian", "checkpoint_to": model, "checkpoint_back": model, "batch_size": 2})
    texts = ["the storm destroyed many houses", "near the river", "many houses", "the storm"]
    back = backtranslate(texts, params)
    assert len(back) == 4 and all(isinstance(t, str) for t in back)
    # random weights may also say nothing at all: an empty first leg must come back empty, not crash
    assert backtranslate(["", "the storm"], params)[0] == ""


@pytest.mark.parametrize("checkpoint, message", [
    ("{tmp}/nothing", "augment.backtranslate.checkpoint_to: no folder {tmp}/nothing"),
    # no network here: one question to the Hub, not huggingface_hub's five retries (about 50 s for two legs)
    ("no-such-org/opus-mt-xx-yy", "augment.backtranslate.checkpoint_to: 'no-such-org/opus-mt-xx-yy' "),
])
def test_unknown_marian_checkpoint_is_one_clear_error(tmp_path, checkpoint: str, message: str) -> None:
    pytest.importorskip("torch")
    checkpoint, message = checkpoint.format(tmp=tmp_path), message.format(tmp=tmp_path)
    params = AugmentParams(methods=["backtranslate"], backtranslate={
        "backend": "marian", "checkpoint_to": checkpoint, "checkpoint_back": checkpoint})
    started = time.monotonic()
    with pytest.raises(PipelineError) as raised:
        backtranslate(["a text"], params)
    assert str(raised.value).startswith(message)
    assert time.monotonic() - started < 15


def test_digits_pass_through_and_refuse_methods() -> None:
    digits = pd.DataFrame({"id": ["a", "b"], "features": [[0.0, 1.0], [1.0, 0.0]], "label": ["0", "1"],
                           "source": "digits"})
    passed, card = augment_train(digits, pd.Series(dtype=str), AugmentParams())
    assert passed is digits and card["rows_after"] == 2
    with pytest.raises(PipelineError, match="augment: this dataset has numeric features, no text to augment"):
        augment_train(digits, pd.Series(dtype=str), AugmentParams(methods=["emoji"]))
