"""A real PostgreSQL server for tests and benchmarks: initdb + pg_ctl in a temporary folder, on a Unix socket only.

The server comes from Debian's `postgresql` package (scripts/setup.sh installs it; its binaries are not on PATH) and
the driver from PyPI's `psycopg[binary]` (the `test` extra). It listens on no TCP port at all
(listen_addresses=''), only on a socket in its own folder, so tests running at once never collide. initdb refuses
to run as root: as root, the server runs as `nobody`, which owns the folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

USER = "mlkit"  # the database superuser (trust authentication: the socket's folder is the server's alone)
DATABASE = "optuna"


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL not found under /usr/lib/postgresql: bash scripts/setup.sh (apt: postgresql)")
    return Path(found[-1]).parent


class PgServer:
    """initdb + `pg_ctl start` in a fresh folder under /tmp; `url` is the SQLAlchemy URL; stop() deletes it all.
    With `password`, the server asks for it (scram-sha-256) and `url` carries it."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.bin = binaries()
        # Under /tmp itself, not pytest's tmp_path: that sits in a 0700 folder of root that `nobody` cannot
        # enter, and a socket's path must stay under ~100 characters.
        self.folder = Path(tempfile.mkdtemp(prefix="mlkit-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "nobody", "nogroup")
            self.as_user = ["runuser", "-u", "nobody", "--"]

    @property
    def url(self) -> str:
        login = f"{USER}:{self.password}" if self.password else USER
        return f"postgresql+psycopg://{login}@/{DATABASE}?host={self.folder}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, cwd=self.folder, env=self._env())
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.is_file() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}\n{log}")
        return done

    def start(self) -> PgServer:
        if not self.data.exists():
            auth = ["-A", "trust"]
            if self.password:
                secret = self.folder / "pwfile"
                secret.write_text(self.password)
                if self.as_user:
                    shutil.chown(secret, "nobody", "nogroup")
                auth = ["-A", "scram-sha-256", f"--pwfile={secret}"]
            self._run(str(self.bin / "initdb"), "-D", str(self.data), *auth, "-U", USER, "-E", "UTF8", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", f"-k {self.folder} -c listen_addresses='' -c fsync=off", "start")
        if not self._exists():
            self._run(str(self.bin / "createdb"), "-h", str(self.folder), "-U", USER, DATABASE)
        return self

    def _exists(self) -> bool:
        done = subprocess.run([*self.as_user, str(self.bin / "psql"), "-h", str(self.folder), "-U", USER, "-d",
                               "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                              capture_output=True, text=True, cwd=self.folder, env=self._env())
        return done.stdout.strip() == "1"

    def _env(self) -> dict[str, str]:
        return {**os.environ, **({"PGPASSWORD": self.password} if self.password else {})}

    def running(self) -> bool:
        return subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True, cwd=self.folder).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (mode `immediate`: at once, as a crash would); the data stays until close()."""
        if self.data.exists() and self.running():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
