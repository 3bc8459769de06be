"""`mlkit serve` in the background for tests: a real uvicorn server on 127.0.0.1 and a real httpx client."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import yaml

from mlkit.core.params import validate
from mlkit.modeling.factory import DataFacts, build_model
from mlkit.testing.commands import ENV, ROOT
from mlkit.testing.project import committed


class Server:
    """`mlkit serve ARGS --port 0` in the background; its URL from the line it prints when it listens."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None):
        self.log = cwd / f"serve-{time.monotonic_ns()}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlkit", "serve", "--port", "0", *args], cwd=cwd, stdout=log,
                stderr=subprocess.STDOUT, env={**ENV, "PYTHONPATH": str(ROOT), **(env or {})})
        deadline = time.monotonic() + 120
        while not (found := re.search(r" on (http://127\.0\.0\.1:\d+)", self.log.read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"mlkit serve did not start: {self.log.read_text()}")
            time.sleep(0.1)
        self.url = found[1]
        self.client = httpx.Client(base_url=self.url, timeout=60)
        while True:  # the line is printed just before uvicorn accepts connections
            try:
                self.client.get("/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.log.read_text()


def multiclass_model(folder: Path, texts: list[str], columns: dict[str, object]) -> Path:
    """The default scikit-learn model (params.yaml as committed) saved in `folder`, fitted on `texts` labelled
    a, b, c in turn (each text should give its label away), with `columns` as the card's trained columns."""
    params = validate(yaml.safe_load(committed("params.yaml")), "params.yaml")
    frame = pd.DataFrame({"text": texts, "label": ["abc"[i % 3] for i in range(len(texts))]})
    model = build_model(params, DataFacts("multiclass", ["a", "b", "c"], None, True, len(frame)))
    model.fit(frame)
    folder.mkdir(parents=True)
    model.save(folder, trained={"columns": columns})
    return folder
