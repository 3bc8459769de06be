"""The transformer backend's training helpers that need no model: multilabel thresholds tuned on valid and
`max_length: auto`."""

from __future__ import annotations

import numpy as np
import pytest

from mlkit.modeling.hf_training import covering_length, tune_thresholds

pytestmark = pytest.mark.fast

# Label 0 is separated at 0.3, label 1 at 0.75; label 2 has no positives on valid.
PROBABILITIES = np.array([[0.35, 0.80, 0.1], [0.40, 0.90, 0.2], [0.20, 0.70, 0.3], [0.10, 0.20, 0.4]])
TRUTH = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])


def test_per_label_thresholds_cut_each_label_where_its_f1_is_best() -> None:
    low, high, none = tune_thresholds(PROBABILITIES, TRUTH, "per_label")
    assert 0.2 < low <= 0.35 and 0.7 < high <= 0.8
    assert none == 0.5  # no positives on valid: nothing to tune, the usual cut


def test_a_global_threshold_is_one_cut_for_every_label() -> None:
    # The best micro F1 over all labels at once: 0.35 keeps both of label 0's positives (F1 0.8; at 0.75,
    # right for label 1 alone, label 0 loses both: 0.67).
    assert tune_thresholds(PROBABILITIES, TRUTH, "global") == [0.35, 0.35, 0.35]


def test_auto_max_length_covers_99_percent_of_texts_in_multiples_of_8() -> None:
    lengths = [[0] * n for n in [10] * 99 + [500]]  # one outlier: covering it would pad every batch to 500
    assert covering_length(lengths, limit=512) == 16
    assert covering_length([[0] * 700] * 10, limit=512) == 512  # never past the checkpoint's limit
    assert covering_length([[0] * 3] * 10, limit=512) == 8
