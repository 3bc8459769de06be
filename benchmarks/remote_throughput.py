"""Push and pull throughput of the pipeline's outputs through DVC against `rclone copy` of the same files.

    python -m benchmarks remote_throughput

In a temporary committed copy of the project (default params): `dvc repro`, then a real S3 server
(`rclone serve s3` on 127.0.0.1, mlkit/testing/s3server.py) gets (a) `dvc push`, `dvc pull` into a fresh clone,
(b) `rclone copy` of the same cache files up to another bucket and back down. Same server, one run.
Writes docs/studies/results/remote_throughput.{json,md}, which docs/studies/remote-throughput.md includes.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

from mlkit.testing import git
from mlkit.testing.bench import commit, project_copy, record, run, table
from mlkit.testing.s3server import KEY, SECRET, S3Server, rclone

CREDS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
TRANSFERS = 8  # rclone's parallel transfers, the same as the remote's `jobs` (mlkit/tools/remote.py)


def timed(cmd: str, cwd: Path, extra: dict[str, str]) -> float:
    os.environ.update(extra)  # bench.run passes os.environ on (with the venv first on PATH)
    try:
        return run(cmd, cwd)
    finally:
        for key in extra:
            os.environ.pop(key, None)


def main() -> None:
    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()})")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}, "
          f"python {platform.python_version()}")
    with project_copy() as project, tempfile.TemporaryDirectory(prefix="mlkit-s3-") as tmp:
        run("dvc repro", project)
        server = S3Server(Path(tmp) / "s3")
        server.bucket("dvc")
        server.bucket("rclone")
        with server:
            timed(f"mlkit remote add storage s3://dvc/store --endpoint {server.endpoint} --default",
                  project, {})
            commit(project, "remote")
            cache = project / ".dvc/cache/files/md5"
            files = [p for p in cache.rglob("*") if p.is_file()]
            size_mb = sum(p.stat().st_size for p in files) / 1e6

            dvc_push = timed("dvc push", project, CREDS)
            git("clone", "-q", str(project), f"{tmp}/clone", cwd=tmp)
            dvc_pull = timed("dvc pull", Path(tmp) / "clone", CREDS)

            remote = {"RCLONE_CONFIG": os.devnull, "RCLONE_CONFIG_BENCH_TYPE": "s3",
                      "RCLONE_CONFIG_BENCH_PROVIDER": "Other", "RCLONE_CONFIG_BENCH_ENDPOINT": server.endpoint,
                      "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": KEY, "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET}
            copy = f"{rclone()} copy --transfers {TRANSFERS}"
            rclone_push = timed(f"{copy} {cache} bench:rclone/store", project, remote)
            rclone_pull = timed(f"{copy} bench:rclone/store {tmp}/down", project, remote)

    headers = ["", "dvc s", "dvc MB/s", "rclone copy s", "rclone MB/s", "dvc/rclone MB/s"]
    rows = [["push", dvc_push, size_mb / dvc_push, rclone_push, size_mb / rclone_push, rclone_push / dvc_push],
            ["pull", dvc_pull, size_mb / dvc_pull, rclone_pull, size_mb / rclone_pull, rclone_pull / dvc_pull]]
    note = (f"{len(files)} files, {size_mb:.1f} MB (the outputs of `dvc repro`, default params), rclone serve s3 "
            f"on 127.0.0.1; dvc jobs = rclone --transfers = {TRANSFERS}")
    print(f"\n{note}\n")
    print(table(headers, rows))
    print("\n(dvc pull includes checking the files out into the workspace; dvc push its status query.)")
    numbers = {"files": len(files), "megabytes": size_mb, "transfers": TRANSFERS, "dvc_push_s": dvc_push,
               "dvc_pull_s": dvc_pull, "rclone_push_s": rclone_push, "rclone_pull_s": rclone_pull}
    print(f"written: {record('remote_throughput', numbers, headers, rows, note=note)}")

if __name__ == "__main__":
    main()
