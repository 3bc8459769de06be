"""`mlkit serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlkit.cli.app import app


@app.command()
def serve(
    model: Annotated[str | None, typer.Option(
        metavar="DIR", help="saved model folder [default: models/model, unless --stage or --version]",
        show_default=False)] = None,
    stage: Annotated[str | None, typer.Option(
        metavar="STAGE", help="serve the registry's model in this stage (GTO), fetched from the git and DVC "
        "remotes")] = None,
    version: Annotated[str | None, typer.Option(
        metavar="VERSION", help="serve this registry version (v1.2.0), fetched likewise")] = None,
    repo: Annotated[str | None, typer.Option(
        metavar="URL", help="the git repository holding the registry (a URL or a path) [default: this project]",
        show_default=False)] = None,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="the port to listen on (0: any free one)")] = 8080,
    max_texts: Annotated[int, typer.Option(metavar="N", help="texts one request may hold (more: 413)")] = 256,
    max_chars: Annotated[int, typer.Option(metavar="N", help="characters one text may have (more: 413)")] = 10_000,
    batch_window_ms: Annotated[float | None, typer.Option(
        metavar="MS", help="how long the model waits for more requests to batch [default: 5 for a transformer, "
        "0 otherwise: what is queued]", show_default=False)] = None,
    max_batch: Annotated[int, typer.Option(metavar="N", help="the most texts in one batch")] = 64,
    access_log: Annotated[bool, typer.Option(help="log one line per request")] = True,
) -> None:
    """Serve a saved model over HTTP: POST /predict, GET /health, GET /metadata.

    POST /predict takes {"texts": ["...", ...]} (a text, or an object of the model's text columns) and answers
    {"labels": [...], "scores": [{label: score}, ...]} in the same order; texts are prepared as `mlkit predict`
    prepares a file's. Torch threads: OMP_NUM_THREADS, else every CPU.
    """
    from mlkit.tools.serve import ServeOptions
    from mlkit.tools.serve import serve as run

    run(ServeOptions(model=model, stage=stage, version=version, repo=repo, host=host, port=port,
                     max_texts=max_texts, max_chars=max_chars, batch_window_ms=batch_window_ms,
                     max_batch=max_batch, access_log=access_log))
