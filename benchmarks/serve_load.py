"""`mlkit serve` under load: requests per second and p50/p99 latency at 1, 8 and 32 concurrent clients.

    python -m benchmarks serve_load [--seconds 3] [--clients 1 8 32] [--backends sklearn transformer]

Per backend, a model saved as the train stage saves it: the default scikit-learn model (params.yaml as
committed) trained on 4,000 emotion rows, and a MiniLM transformer with a fresh 6-label head (its forward
pass costs what a fine-tuned one's does; max_length 64). `mlkit serve --port 0 --no-access-log` serves it
with its default batching; an httpx client keeps N requests of one text each in flight for `--seconds`
per cell. The batch baseline is `mlkit predict` on the same 2,000 texts (emotion's val.txt): texts per
second for the whole command, start-up included. Client and server share the machine's CPUs. Writes
docs/studies/results/serve_load.{json,md}, which docs/how-to/serve.md includes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

from mlkit.testing import ROOT, committed
from mlkit.testing.bench import SHARED, env, load, record, table

EMOTION = SHARED / "datasets" / "emotion"
TRAIN_ROWS = 4000


def emotion(name: str) -> pd.DataFrame:
    return pd.read_csv(EMOTION / name, sep=";", header=None, names=["text", "label"], keep_default_na=False)


def save_sklearn(folder: Path) -> None:
    from mlkit.core.params import validate
    from mlkit.modeling.factory import DataFacts, build_model

    params = validate(yaml.safe_load(committed("params.yaml")), "params.yaml")
    train = emotion("train.txt").head(TRAIN_ROWS)
    labels = sorted(train["label"].unique())
    model = build_model(params, DataFacts("multiclass", labels, None, True, len(train)))
    model.fit(train)
    model.save(folder, trained={"columns": {"text_column": "text", "label_column": "label"}})


def save_transformer(folder: Path) -> None:
    from mlkit.core.params import model_params
    from mlkit.modeling.transformer import TransformerModel

    labels = ["anger", "fear", "joy", "love", "sadness", "surprise"]
    model = TransformerModel.build(model_params(type="transformer", max_length=64), "multiclass", labels, None)
    model.save(folder, {"columns": {"text_column": "text", "label_column": "label"}})


SAVE = {"sklearn": save_sklearn, "transformer": save_transformer}


def batch_baseline(folder: Path, texts: list[str], work: Path) -> float:
    """Texts per second of `mlkit predict` on `texts`, the whole command."""
    pd.DataFrame({"text": texts}).to_csv(work / "texts.csv", index=False)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlkit", "predict", "texts.csv", "--model", str(folder), "--output",
                    "out.csv", "--force"], cwd=work, env={**env(), "PYTHONPATH": str(ROOT)}, check=True,
                   capture_output=True)
    return len(texts) / (time.perf_counter() - started)


def in_process(folder: Path, texts: list[str]) -> float:
    """Texts per second of the loaded model on all `texts` at once (labels and scores from one pass, as serve
    calls it): the ceiling batching approaches."""
    from mlkit.modeling.base import load_model

    model = load_model(folder)
    frame = pd.DataFrame({"text": texts})
    started = time.perf_counter()
    model.predict_with_scores(frame)
    return len(texts) / (time.perf_counter() - started)


def start_server(folder: Path, work: Path) -> tuple[subprocess.Popen, str]:
    log = open(work / "serve.log", "w")  # noqa: SIM115 - the server writes it until it is stopped
    process = subprocess.Popen([sys.executable, "-m", "mlkit", "serve", "--model", str(folder), "--port", "0",
                                "--no-access-log", "--max-texts", "64"], cwd=work, stdout=log,
                               stderr=subprocess.STDOUT, env={**env(), "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 300
    while not (found := re.search(r" on (http://127\.0\.0\.1:\d+)", (work / "serve.log").read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"mlkit serve did not start: {(work / 'serve.log').read_text()}")
        time.sleep(0.1)
    url = found[1]
    while True:
        try:
            httpx.get(f"{url}/health", timeout=5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)


async def load_cell(url: str, texts: list[str], clients: int, seconds: float) -> dict[str, float]:
    """`clients` loops each sending one text per request for `seconds`: requests/s, p50 and p99 (ms)."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for text in texts[:clients]:  # warm: connections open, the model's first call made
            (await client.post("/predict", json={"texts": [text]})).raise_for_status()
        deadline = time.perf_counter() + seconds

        async def one(start: int) -> None:
            i = start
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                answer = await client.post("/predict", json={"texts": [texts[i % len(texts)]]})
                answer.raise_for_status()
                latencies.append(time.perf_counter() - began)
                i += clients

        started = time.perf_counter()
        await asyncio.gather(*(one(c) for c in range(clients)))
        elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {"requests_per_s": len(latencies) / elapsed, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "requests": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--backends", nargs="+", choices=list(SAVE), default=list(SAVE))
    args = parser.parse_args()
    texts = emotion("val.txt")["text"].tolist()
    numbers: dict[str, Any] = {"seconds_per_cell": args.seconds, "texts": len(texts)}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="mlkit-serve-load-") as tmp:
        for backend in args.backends:
            work = Path(tmp) / backend
            folder = work / "models/model"
            folder.mkdir(parents=True)
            SAVE[backend](folder)
            baseline = batch_baseline(folder, texts, work)
            ceiling = in_process(folder, texts)
            numbers[backend] = {"predict_texts_per_s": baseline, "in_process_texts_per_s": ceiling, "serve": {}}
            rows.append([backend, "`mlkit predict` on 2,000 texts, whole command", "", f"{baseline:.0f} texts/s",
                         "", ""])
            rows.append([backend, "the model on 2,000 texts at once, in-process", "", f"{ceiling:.0f} texts/s",
                         "", ""])
            process, url = start_server(folder, work)
            try:
                for clients in args.clients:
                    cell = asyncio.run(load_cell(url, texts, clients, args.seconds))
                    numbers[backend]["serve"][str(clients)] = cell
                    rows.append([backend, "`mlkit serve`, 1 text a request", clients,
                                 f"{cell['requests_per_s']:.1f} requests/s", f"{cell['p50_ms']:.0f}",
                                 f"{cell['p99_ms']:.0f}"])
                    print(f"{backend} x{clients}: {cell}", flush=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
    headers = ["model", "how", "clients", "throughput", "p50 ms", "p99 ms"]
    print(table(headers, rows))
    print(f"({load()})")
    print(f"written: {record('serve_load', numbers, headers, rows)}")


if __name__ == "__main__":
    main()
