"""A server that accepts TCP connections and never answers: what a hung database or git host looks like to a
client (tests of timeouts). Bound to 127.0.0.1 only."""

from __future__ import annotations

import socket
import threading


class SilentServer:
    """Listens on a free 127.0.0.1 port, accepts every connection, reads nothing and sends nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True, name="silent-server")

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.held.append(conn)  # kept open: the client waits for an answer that never comes

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
