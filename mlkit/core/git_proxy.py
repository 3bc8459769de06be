"""A relay for git's own protocol (git:// URLs) that gives up on a silent host: git has no timeout of its own there.

git and dulwich (DVC's git client) both run `core.gitProxy` with the host and the port as its two arguments and
speak the protocol over its stdin and stdout. This relay connects with a timeout, then passes bytes both ways;
when nothing has moved either way for the timeout, it says so on stderr in one line and exits 1 (as
http.lowSpeedTime does for HTTP: git's servers send keep-alive packets every 5 s while they prepare a pack).

    python -m mlkit.cli.git_proxy SECONDS HOST PORT   (the command: mlkit/cli/git_proxy.py)
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import time

CHUNK = 65536


def relay(host: str, port: int, seconds: float, stdin: int = 0, stdout: int = 1) -> int:
    """Relay between the file descriptors `stdin`/`stdout` and host:port; the exit status."""
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=seconds)
    except TimeoutError:
        print(f"fatal: timed out: no answer from {where} within {seconds:g} s", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fatal: unable to connect to {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    sock.settimeout(seconds)  # a host that stops reading: sendall gives up too
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(stdin, selectors.EVENT_READ)
    moved = time.monotonic()
    try:
        while True:
            left = seconds - (time.monotonic() - moved)
            events = selector.select(timeout=max(left, 0)) if left > 0 else []
            if not events:
                print(f"fatal: timed out: no answer from {where} within {seconds:g} s", file=sys.stderr)
                return 1
            for key, _ in events:
                if key.fileobj is sock:
                    data = sock.recv(CHUNK)
                    if not data:  # the host is done: so is git's side
                        return 0
                    _write_all(stdout, data)
                else:
                    data = os.read(stdin, CHUNK)
                    if data:
                        sock.sendall(data)
                    else:  # git sent all it had: the host may still answer
                        selector.unregister(stdin)
                        sock.shutdown(socket.SHUT_WR)
                moved = time.monotonic()
    except TimeoutError:
        print(f"fatal: timed out: {where} took no data for {seconds:g} s", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fatal: connection to {where} failed: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        sock.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

