"""The HTTP app: /predict, /health, /metadata; every refused request one `{"error": "..."}` with its 4xx.

Bodies are parsed here, not by FastAPI's body parameters, so each refusal is one sentence naming the field
(FastAPI's own 422 is a list of pydantic errors, and it answers malformed JSON with 422 too, not 400).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
from starlette.exceptions import HTTPException

from mlkit.tools.serve.batching import Batcher
from mlkit.tools.serve.model import ServedModel

log = logging.getLogger("mlkit.serve")


@dataclass(frozen=True)
class Limits:
    max_texts: int = 256      # texts per request
    max_chars: int = 10_000   # characters per text (its columns together)

    @property
    def max_bytes(self) -> int:
        """The largest body a request within the limits can have (4 bytes a character, JSON's quoting and
        escapes), refused before it is read."""
        return self.max_texts * (self.max_chars * 6 + 64) + 4096


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[StrictStr | dict[StrictStr, StrictStr]] = Field(min_length=1)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def shape_error(exc: ValidationError, columns: list[str]) -> str:
    """pydantic's first complaint about a body, as one sentence naming the field."""
    first = exc.errors()[0]
    loc = first["loc"]
    if not loc:
        return 'the body must be a JSON object: {"texts": ["...", ...]}'
    if loc[0] == "texts" and len(loc) > 1 and isinstance(loc[1], int):
        return (f"texts[{loc[1]}]: must be a string, or an object of the model's text columns "
                f"({', '.join(columns)}) holding strings")
    if loc[0] == "texts" and first["type"] == "too_short":
        return "texts: give at least one text"
    if first["type"] == "extra_forbidden":
        return f"unknown field {loc[0]!r}: the body is {{\"texts\": [...]}}"
    if first["type"] == "missing":
        return 'texts: missing; the body is {"texts": ["...", ...]}'
    return f"{'.'.join(map(str, loc))}: {first['msg']}"


def checked(body: bytes, columns: list[str], limits: Limits) -> PredictRequest | JSONResponse:
    """The request, or the response refusing it: 400 malformed JSON, 422 wrong shape, 413 over a limit."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"malformed JSON: {exc}")
    if isinstance(data, dict) and isinstance(data.get("texts"), list) and len(data["texts"]) > limits.max_texts:
        return error(413, f"texts: {len(data['texts'])} texts, more than the {limits.max_texts} a request may "
                     "hold (the server's --max-texts); send them in several requests")
    try:
        request = PredictRequest.model_validate(data)
    except ValidationError as exc:
        return error(422, shape_error(exc, columns))
    for i, text in enumerate(request.texts):
        if isinstance(text, dict):
            unknown = [name for name in text if name not in columns]
            if unknown:
                return error(422, f"texts[{i}]: no text column {unknown[0]!r}; the model's are: "
                             f"{', '.join(columns)}")
        size = len(text) if isinstance(text, str) else sum(map(len, text.values()))
        if size > limits.max_chars:
            return error(413, f"texts[{i}]: {size} characters, more than the {limits.max_chars} a text may have "
                         "(the server's --max-chars)")
    return request


def create_app(served: ServedModel, batcher: Batcher, limits: Limits) -> FastAPI:
    """The app serving `served` through `batcher` (started and stopped by the caller)."""
    card = served.card
    app = FastAPI(title="mlkit serve", version="1", docs_url="/docs", redoc_url=None,
                  description=f"A {card.backend} {card.task} classifier: {', '.join(card.labels)}")
    columns = served.text_columns

    @app.middleware("http")
    async def no_traceback(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Anything unforeseen: one log line and a 500 with one message, never a traceback to anyone."""
        try:
            return await call_next(request)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: every exception ends here
            log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__,
                      " ".join(str(exc).split()))
            return error(500, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:  # 404, 405: the same shape
        return error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}; "
                     "the endpoints are POST /predict, GET /health, GET /metadata")

    @app.post("/predict")
    async def predict(request: Request) -> Any:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limits.max_bytes:
            return error(413, f"the body is {int(length)} bytes, more than {limits.max_bytes} "
                         "(--max-texts texts of --max-chars characters)")
        parsed = checked(await request.body(), columns, limits)
        if isinstance(parsed, JSONResponse):
            return parsed
        frame = served.frame(parsed.texts)
        labels, scores = await asyncio.wrap_future(batcher.submit(frame))
        return {"labels": labels, "scores": scores}

    @app.get("/health")
    async def health() -> Any:
        if not batcher.alive:
            return error(503, "the model's worker thread has stopped; restart the server")
        return {"status": "ok", "backend": card.backend, "task": card.task, "batches": batcher.batches}

    @app.get("/metadata")
    async def metadata() -> Any:
        return served.metadata()

    return app
