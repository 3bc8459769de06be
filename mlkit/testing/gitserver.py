"""A git remote over HTTP with a password (tests of credentials): dulwich's smart-HTTP WSGI application over
a folder of bare repositories, behind HTTP basic authentication, on a free 127.0.0.1 port."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # no request log on the test's stderr
        pass


class GitHttpServer:
    """Serves bare repositories at http://127.0.0.1:PORT/NAME (`repos`: NAME -> folder) to `user`:`password`."""

    def __init__(self, repos: dict[str, Path], user: str, password: str):
        self.repos: dict[str, Any] = {f"/{name}": Repo(str(path)) for name, path in repos.items()}
        app = make_wsgi_chain(DictBackend(self.repos))
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("HTTP_AUTHORIZATION") != expected:
                start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"'),
                                                    ("Content-Length", "0")])
                return [b""]
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, guarded, server_class=_Server, handler_class=_Quiet)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="git-http")

    def url(self, name: str, credentials: str = "") -> str:
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> GitHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        for repo in self.repos.values():
            repo.close()
