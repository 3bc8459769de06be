"""Loading a model runs no code it should not: skops refuses untrusted types, transformers refuse pickles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlkit.core.errors import PipelineError
from mlkit.modeling.base import load_model
from mlkit.testing import ENV, ROOT

pytestmark = pytest.mark.fast  # no DVC run, no training

BUILT: list[dict] = []  # every Planted object the loader builds


class Planted:
    """A class from a test module: nothing a saved model of this project may hold."""

    def __setstate__(self, state: dict) -> None:
        BUILT.append(state)
        self.__dict__.update(state)


def planted() -> Planted:
    found = Planted()
    found.marker = 1  # some state, so that loading it would call __setstate__
    return found


def sklearn_folder(folder: Path, obj: object) -> Path:
    """A model folder whose card says scikit-learn and whose skops file holds `obj`."""
    folder.mkdir()
    sio.dump(obj, folder / "model.skops")
    (folder / "card.json").write_text(json.dumps({"backend": "sklearn", "task": "binary", "labels": ["a", "b"],
                                                  "positive_label": "b"}))
    return folder


@pytest.mark.parametrize(("obj", "named"), [
    (lambda: {"payload": planted()}, "test_security.Planted"),
    (lambda: Pipeline([("step", FunctionTransformer(print))]), "builtins.print"),
    (lambda: FunctionTransformer(subprocess.call), "subprocess.call"),
], ids=["test-module-class", "builtin-function", "stdlib-function"])
def test_skops_file_with_an_untrusted_type_is_refused_before_anything_is_built(tmp_path: Path, obj, named: str) -> None:
    folder = sklearn_folder(tmp_path / "model", obj())
    BUILT.clear()
    with pytest.raises(PipelineError, match=r"model\.skops: holds types this project does not trust: .*" + named):
        load_model(folder)
    assert BUILT == []  # refused on the file's schema: no object was built, no __setstate__ ran


def test_predict_refuses_an_untrusted_model_in_one_error_line(tmp_path: Path) -> None:
    folder = sklearn_folder(tmp_path / "model", {"payload": planted()})
    (tmp_path / "in.csv").write_text("text\nhello\n")
    done = subprocess.run([sys.executable, "-m", "mlkit", "predict", str(tmp_path / "in.csv"), "--model", str(folder),
                           "--output", str(tmp_path / "out.csv")], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "does not trust: test_security.Planted" in lines[0]
    assert not (tmp_path / "out.csv").exists()


def test_transformer_folder_with_only_a_pickled_checkpoint_is_refused(tmp_path: Path) -> None:
    """A complete, loadable model saved as pytorch_model.bin (a pickle): load_model reads safetensors only."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    folder = tmp_path / "model"
    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(["a good day", "a bad day"],
                              trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, pad_token="[PAD]", unk_token="[UNK]",
                                        cls_token="[CLS]", sep_token="[SEP]")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=32, num_labels=2,
                        id2label={0: "bad", 1: "good"}, label2id={"bad": 0, "good": 1})
    tokenizer.save_pretrained(folder)
    config.save_pretrained(folder)
    torch.manual_seed(0)
    torch.save(BertForSequenceClassification(config).state_dict(), folder / "pytorch_model.bin")
    (folder / "card.json").write_text(json.dumps({"backend": "transformer", "task": "binary", "labels": ["bad", "good"],
                                                  "positive_label": "good", "max_length": 16}))
    assert not list(folder.glob("*.safetensors"))
    with pytest.raises(PipelineError, match=r"cannot load the transformer model: .*model\.safetensors"):
        load_model(folder)
