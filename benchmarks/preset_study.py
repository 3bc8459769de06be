"""The study behind each text preset's scikit-learn settings: a few candidates, chosen on valid, shown on test.

    python -m benchmarks preset_study [PRESET ...]     (default: emotion disaster_tweets ru_emotion)

For each preset: its data read, cleaned and split as the pipeline does (no augmentation); then the preset
as committed and each candidate (a change to its `features` and `model`) fitted on train and scored with
the preset's compare.metric on valid and on test, test with its 95% bootstrap interval (1,000 resamples).
The pick (`*`) is the best on valid: test only reports it, so the choice does not fit the test split.
Embedding candidates encode once, into a fresh memo; later candidates read it, so the first row with each
encoder includes its encoding (cold) in its seconds and the others do not.
Writes docs/studies/results/preset_study.{json,md} after each preset (a run cut short keeps the presets it
completed), which docs/studies/preset-study.md includes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

from benchmarks.embedding_features import fit_and_test, read_preset, split_preset
from mlkit.core.params import DEFAULT_CHECKPOINT, validate
from mlkit.modeling.embeddings import MULTILINGUAL_USE
from mlkit.modeling.metrics import score, targets
from mlkit.testing.bench import load, record, table

SVC = {"type": "linear_svc", "class_weight": "balanced"}
NO_EMBEDDING = {"embedding": None}
# Changes to each preset as committed; a preset that has an embedding gets its TF-IDF-only rivals spelled out.
CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "emotion": [
        {"features": {"word_ngrams": [1, 2]}, "model": {**SVC, "C": 0.5}},
        {"features": {"word_ngrams": [1, 1]}, "model": {**SVC, "C": 0.3}},
        {"features": {"word_ngrams": [1, 1]}, "model": {**SVC, "C": 1.0}},
        {"features": {"word_ngrams": [1, 2], "char_ngrams": [2, 5], "min_df": 2}, "model": {**SVC, "C": 0.5}},
        {"features": {"word_ngrams": [1, 1], "embedding": DEFAULT_CHECKPOINT}, "model": {**SVC, "C": 0.5}},
    ],
    "disaster_tweets": [
        {"features": NO_EMBEDDING, "model": {"type": "svc", "C": 1.0}},  # the preset before this study
        {"features": NO_EMBEDDING, "model": {**SVC, "C": 0.1}},
        {"features": NO_EMBEDDING, "model": {**SVC, "C": 0.3}},
        {"model": {"type": "svc", "C": 1.0}},
        {"model": {**SVC, "C": 0.3}},
    ],
    "ru_emotion": [
        {"features": NO_EMBEDDING, "model": {**SVC, "C": 0.2}},  # the preset before this study
        {"features": NO_EMBEDDING, "model": {**SVC, "C": 0.5}},
        {"features": {"char_ngrams": None}, "model": {**SVC, "C": 0.1}},
        {"model": {**SVC, "C": 0.2}},
        {"model": {**SVC, "C": 1.0}},
    ],
}


def shown(change: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for section in ("features", "model") for k, v in change.get(section, {}).items()
             if (section, k) != ("model", "class_weight")]
    parts = [p.replace("embedding=None", "no embedding") for p in parts]
    text = " ".join(parts) or "preset as committed"
    return text.replace(DEFAULT_CHECKPOINT, "MiniLM").replace(MULTILINGUAL_USE, "USE-multilingual")


def main(names: list[str]) -> None:
    print(f"command: python {' '.join(sys.argv)}; nproc {os.cpu_count()}; {load()}")
    os.environ["MLKIT_EMBEDDING_CACHE"] = tempfile.mkdtemp(prefix="mlkit-emb-")  # encoding timed cold
    rows = []
    for name in names:
        raw = read_preset(name)
        params, parts, card, truth = split_preset(raw)
        task, labels, positive = card["task"], card["labels"], card["positive_label"]
        metric = params.compare.metric
        valid_truth = targets(list(parts["valid"]["labels" if task == "multilabel" else "label"]), task, labels)
        found = []
        for change in [{}, *CANDIDATES.get(name, [])]:
            changed = validate({**raw, "features": {**raw["features"], **change.get("features", {})},
                                "model": {**raw["model"], **change.get("model", {})}})
            model, _, seconds, value, low, high = fit_and_test(changed.features, changed.model, parts, card, truth,
                                                               metric)
            started = time.perf_counter()
            on_valid = score(metric, valid_truth, targets(model.predict(parts["valid"]), task, labels), labels,
                             positive)
            seconds += time.perf_counter() - started
            found.append([name, metric, shown(change), on_valid, value, f"[{low:.4f}, {high:.4f}]", seconds])
            print(f"{name}: {shown(change)} valid {on_valid:.4f} test {value:.4f}", file=sys.stderr, flush=True)
        best = max(range(len(found)), key=lambda i: found[i][3])
        for i, row in enumerate(found):
            rows.append([*row[:3], f"{row[3]:.4f}{' *' if i == best else ''}", f"{row[4]:.4f}", row[5],
                         f"{row[6]:.1f}"])
        write(names, rows)  # after each preset: a run cut short keeps the presets it completed


def write(names: list[str], rows: list[list[Any]]) -> None:
    headers = ["preset", "metric", "candidate", "valid", "test", "test 95% interval", "s"]
    print(table(headers, rows))
    print(load())
    numbers = [dict(zip(["preset", "metric", "candidate", "valid", "test", "test_interval", "seconds"], r))
               for r in rows]
    done = list(dict.fromkeys(r[0] for r in rows))
    note = ("Each preset's data split as the pipeline splits it; the preset as committed and each candidate fitted on "
            "train, scored with the preset's compare.metric; `*`: the best on valid, the pick; s: fit and predict "
            "seconds, the first row with an encoder including its encoding")
    path = record("preset_study", {"presets": done, "asked": names, "rows": numbers}, headers, rows, note=note)
    print(f"written: {path}")

if __name__ == "__main__":
    main(sys.argv[1:] or ["emotion", "disaster_tweets", "ru_emotion"])
