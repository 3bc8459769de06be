"""The transformer backend's training helpers: Trainer callbacks (curves without timings, progress per
epoch), multilabel thresholds tuned on valid, `max_length: auto`, and what can differ between machines."""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def tune_thresholds(probabilities: np.ndarray, truth: np.ndarray,
                    mode: Literal["per_label", "global"] = "per_label") -> list[float]:
    """The probability cut with the best F1 on the valid split, as `model.thresholds` says: per label (0.5
    where a label has no positives), or `global`, one for every label (the best micro F1 over all at once)."""
    if mode == "global":
        best = max(THRESHOLD_GRID, key=lambda t: (_f1(probabilities >= t, truth > 0), -abs(t - 0.5)))
        return [float(best)] * truth.shape[1]
    thresholds = []
    for j in range(truth.shape[1]):
        actual = truth[:, j] > 0
        if not actual.any():
            thresholds.append(0.5)
            continue
        best, best_f1 = 0.5, -1.0
        for t in THRESHOLD_GRID:
            f1 = _f1(probabilities[:, j] >= t, actual)
            if f1 > best_f1 + 1e-12:
                best, best_f1 = float(t), f1
        thresholds.append(best)
    return thresholds


def _f1(guess: np.ndarray, actual: np.ndarray) -> float:
    tp = float(np.sum(guess & actual))
    return 2 * tp / (guess.sum() + actual.sum()) if guess.any() else 0.0


def covering_length(token_ids: list[list[int]], limit: int, share: float = 0.99) -> int:
    """`max_length: auto`: the tokens that cover `share` of the texts whole, rounded up to a multiple of 8
    (kernel-friendly shapes), at most the checkpoint's `limit`."""
    if not token_ids:
        return min(limit, 8)
    needed = int(np.ceil(np.quantile([len(ids) for ids in token_ids], share)))
    return int(min(limit, max(8, -(-needed // 8) * 8)))


def environment(processes: int = 1) -> dict[str, Any]:
    """What can still change a seeded fine-tuning's numbers from one machine to another; `processes`: the
    data-parallel processes it ran on (each draws its own dropout masks)."""
    import torch

    gpu = torch.cuda.is_available()
    return {"device": torch.cuda.get_device_name(0) if gpu else "cpu", "torch_threads": torch.get_num_threads(),
            "cuda": torch.version.cuda if gpu else None, "deterministic_algorithms": True, "processes": processes,
            "note": "same machine, same params: identical results; another CPU, thread count or GPU may "
                    "differ in the last digits of floating-point sums"}


# Trainer's logs that measure time, not the model: kept out of the DVC-hashed training curves, so that
# rerunning the stage writes the same bytes (the train stage prints them instead).
TIMING_KEYS = ("runtime", "per_second")


def CurvesCallback(live: Any) -> Any:  # noqa: N802 - builds the callback class only when transformers is loaded
    """DVCLiveCallback (loss and valid metrics per epoch into `live`) without the timing entries."""
    from transformers.integrations import DVCLiveCallback

    class _Curves(DVCLiveCallback):
        def on_log(self, args, state, control, model=None, logs=None, **kwargs):
            kept = {k: v for k, v in (logs or {}).items() if not any(t in k for t in TIMING_KEYS)}
            return super().on_log(args, state, control, model=model, logs=kept, **kwargs)

    return _Curves(live=live)


def _epoch_progress_class() -> type:
    from transformers import TrainerCallback

    class _EpochProgress(TrainerCallback):
        """One line per epoch with the time left (the step bar from tqdm shows it within an epoch)."""

        loop_seconds = 0.0  # inside the epochs' training steps: no evaluation, no checkpoints

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_epoch_begin(self, args, state, control, **kwargs):
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kwargs):
            self.loop_seconds += time.perf_counter() - self.epoch_started
            if not state.is_world_process_zero:  # a data-parallel run: rank 0 speaks
                return
            done = state.epoch or 0
            elapsed = time.perf_counter() - self.started
            left = elapsed / done * (args.num_train_epochs - done) if done else 0
            print(f"train: epoch {done:.0f}/{args.num_train_epochs:.0f} after {elapsed:.0f} s; "
                  f"about {left:.0f} s left (less if early stopping ends it)", flush=True)

    return _EpochProgress


def EpochProgress() -> Any:  # noqa: N802 - builds the callback class only when transformers is loaded
    return _epoch_progress_class()()


def seeded_trainer() -> type:
    """transformers' Trainer whose length-grouped sampler draws the data order from its own generator seeded
    with data_seed (model.seed). Left alone it draws from torch's global generator, whose state after the first
    epoch depends on the dropout masks drawn, and accelerate gives it another generator in a data-parallel run:
    seeded here, one process and N processes see the same batches in the same order."""
    import torch
    from transformers import Trainer

    class _SeededTrainer(Trainer):
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            sampler = super()._get_train_sampler(train_dataset)
            if sampler is not None and getattr(sampler, "generator", False) is None:
                sampler.generator = torch.Generator().manual_seed(self.args.data_seed or 0)  # type: ignore[attr-defined]
            return sampler

    return _SeededTrainer
