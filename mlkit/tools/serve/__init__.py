"""`mlkit serve`: one saved model behind HTTP (FastAPI on uvicorn).

    mlkit serve [--model models/model | --stage prod | --version v1.2.0 [--repo URL]] [--host 127.0.0.1]
        [--port 8080] [--max-texts 256] [--max-chars 10000] [--batch-window-ms MS] [--max-batch 64]

    POST /predict {"texts": ["...", ...]}  -> {"labels": [...], "scores": [{label: score}, ...]}
    GET  /health                            -> {"status": "ok"}
    GET  /metadata                          -> the model card, where the model came from, its metrics

The model is loaded, and its texts prepared, exactly as `mlkit predict` does (mlkit.tools.predict); one worker
thread runs it on the requests that arrive within a short window, together (serve/batching.py).
"""

from mlkit.tools.serve.server import ServeOptions, serve

__all__ = ["ServeOptions", "serve"]
