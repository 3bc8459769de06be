"""Requests batched for the model: one worker thread takes the texts of every request that arrives within a
short window (up to a batch size) and runs the model once on them all.

A transformer's forward pass costs about the same for 1 text as for 16 on a CPU's threads, so concurrent
clients share passes; the model is only ever called from this one thread, so no backend needs to be
thread-safe. Requests are answered through concurrent.futures.Future, which asyncio awaits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pandas as pd

log = logging.getLogger("mlkit.serve")

Runner = Callable[[pd.DataFrame], tuple[list[Any], list[Any]]]
Result = tuple[list[Any], list[Any]]


@dataclass
class Job:
    frame: pd.DataFrame
    future: Future[Result]


class Batcher:
    """`submit(frame)` -> a Future of (labels, scores) for that frame's rows, in order."""

    def __init__(self, run: Runner, window_s: float, max_batch: int):
        self.run, self.window_s, self.max_batch = run, window_s, max_batch
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.thread = threading.Thread(target=self._work, name="mlkit-serve-model", daemon=True)
        self.batches = 0  # model calls so far: /health shows it, tests read it

    def start(self) -> Batcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def submit(self, frame: pd.DataFrame) -> Future[Result]:
        future: Future[Result] = Future()
        self.jobs.put(Job(frame, future))
        return future

    def _gather(self, first: Job) -> tuple[list[Job], bool]:
        """`first` and the jobs that arrive within the window, up to max_batch rows (a request larger than
        that runs alone); whether the queue asked the thread to stop meanwhile."""
        batch, rows = [first], len(first.frame)
        deadline = time.monotonic() + self.window_s
        while rows < self.max_batch:
            try:
                # Within the window, wait for more; at its end, still take what is already queued.
                job = self.jobs.get(timeout=max(0.0, deadline - time.monotonic())) \
                    if time.monotonic() < deadline else self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, True
            if rows + len(job.frame) > self.max_batch:
                self.jobs.put(job)  # the next batch's first; order among requests does not matter
                break
            batch.append(job)
            rows += len(job.frame)
        return batch, False

    def _work(self) -> None:
        stopping = False
        while not stopping:
            first = self.jobs.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._answer(batch)

    def _answer(self, batch: Sequence[Job]) -> None:
        frame = pd.concat([job.frame for job in batch], ignore_index=True) if len(batch) > 1 else batch[0].frame
        try:
            labels, scores = self.run(frame)
        except Exception as exc:  # noqa: BLE001 - any failure of the model is each waiting request's answer
            for job in batch:
                job.future.set_exception(exc)
            return
        finally:
            self.batches += 1
        start = 0
        for job in batch:
            end = start + len(job.frame)
            job.future.set_result((labels[start:end], scores[start:end]))
            start = end
