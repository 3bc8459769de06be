"""Fixtures only: the helpers they build on live in mlkit.testing (tests import them from there)."""

from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from mlkit.testing import Project, emotion_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return emotion_project(tmp_path / "project")


@pytest.fixture
def http_folder(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving a fresh folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
