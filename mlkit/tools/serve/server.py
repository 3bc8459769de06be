"""Load the model, bind the port, run uvicorn: every start-up problem is one `error:` line before serving."""

from __future__ import annotations

import logging
import socket
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from mlkit.core import paths
from mlkit.core.errors import PipelineError, UsageError
from mlkit.core.vcs import project_root
from mlkit.tools.serve.model import Origin, ServedModel, folder_metrics

WINDOW_MS = {"transformer": 5.0}  # a batch's window per backend; others run what is queued at once


@dataclass(frozen=True)
class ServeOptions:
    """What `mlkit serve` is asked to do (the command line builds it: mlkit/cli/serve.py)."""

    model: str | None = None          # a folder; default models/model unless a stage or version is asked for
    stage: str | None = None
    version: str | None = None
    repo: str | None = None           # the git repository holding the registry; default this project
    host: str = "127.0.0.1"
    port: int = 8080                  # 0: any free port (the line printed at start names it)
    max_texts: int = 256
    max_chars: int = 10_000
    batch_window_ms: float | None = None
    max_batch: int = 64
    access_log: bool = True

    def __post_init__(self) -> None:
        chosen = [name for name, v in (("--model", self.model), ("--stage", self.stage),
                                       ("--version", self.version)) if v is not None]
        if len(chosen) > 1:
            raise UsageError(f"mlkit serve: {', '.join(chosen)}: give one (a folder, a stage or a version)")
        if self.repo is not None and not (self.stage or self.version):
            raise UsageError("mlkit serve: --repo names where the registry is: give --stage or --version too")
        for name, value in (("--max-texts", self.max_texts), ("--max-chars", self.max_chars),
                            ("--max-batch", self.max_batch)):
            if value < 1:
                raise UsageError(f"mlkit serve: {name}: must be at least 1 (got {value})")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"mlkit serve: --port: must be 0 to 65535 (got {self.port})")
        if self.batch_window_ms is not None and not 0 <= self.batch_window_ms <= 1000:
            raise UsageError(f"mlkit serve: --batch-window-ms: must be 0 to 1000 (got {self.batch_window_ms})")


def load(options: ServeOptions, stack: ExitStack) -> ServedModel:
    """The model the options name: a folder, or the registry's, fetched into a folder `stack` removes."""
    if options.stage is None and options.version is None:
        folder = Path(options.model or paths.MODEL)
        return ServedModel.load(folder, Origin(source=str(folder), metrics=folder_metrics(folder)))
    from mlkit.tools.serve.registry import fetch

    repo = options.repo or str(project_root())
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlkit-serve-"))) / "model"
    origin = fetch(repo, options.stage, options.version, folder)
    return ServedModel.load(folder, origin)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, so a port in use is one error line here, not uvicorn's log and exit."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PipelineError(f"--host {host}: cannot resolve it ({exc.strerror or exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PipelineError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc}); "
                            "choose another --port") from None
    sock.listen(2048)
    return sock


def log_handler() -> logging.Handler:
    from uvicorn.logging import DefaultFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    return handler


def serve(options: ServeOptions) -> None:
    import uvicorn

    from mlkit.tools.serve.app import Limits, create_app
    from mlkit.tools.serve.batching import Batcher

    with ExitStack() as stack:
        served = load(options, stack)
        sock = bind(options.host, options.port)
        stack.callback(sock.close)
        backend = served.card.backend
        window = options.batch_window_ms if options.batch_window_ms is not None else WINDOW_MS.get(backend, 0.0)
        batcher = Batcher(served.run, window / 1000, options.max_batch).start()
        stack.callback(batcher.stop)
        app = create_app(served, batcher, Limits(options.max_texts, options.max_chars))
        logger = logging.getLogger("mlkit.serve")
        logger.addHandler(log_handler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"serve: {served.origin.source}{' ' + served.origin.version if served.origin.version else ''} "
              f"({backend}, {served.card.task}: {len(served.card.labels)} labels) on http://{shown}:{port}",
              flush=True)
        config = uvicorn.Config(app, log_level="info", access_log=options.access_log,
                                timeout_graceful_shutdown=10)
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
        if not server.started:  # uvicorn logged why (a lifespan failure); the exit code says it failed
            sys.exit(1)
