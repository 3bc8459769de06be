"""What the search-worker benchmarks (search_workers, db_outage) share: the three URLs a worker needs, served
here, and the project published behind them."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlkit.testing import git
from mlkit.testing.bench import ROOT, commit, project_copy, run
from mlkit.testing.pgserver import PgServer
from mlkit.testing.s3server import KEY, SECRET, S3Server

CREDS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
SPACE = ["--space", "model.C=log:0.5:20", "--space", "model.gamma=log:0.0002:0.005"]


@contextmanager
def published(preset: str, prefix: str) -> Iterator[tuple[Path, Path, PgServer]]:
    """A temporary folder, a bare git remote in it and PostgreSQL: a committed copy of the project on `preset`,
    reproduced, its commit pushed to the remote (TMP/origin.git) and its outputs to a real S3 server (the DVC
    remote `store`, the default). Yields (tmp, remote, database); CREDS are in this process's environment."""
    with project_copy() as project, tempfile.TemporaryDirectory(prefix=prefix) as tmp_name, \
            S3Server(Path(tmp_name) / "s3") as s3, PgServer() as pg:
        tmp = Path(tmp_name)
        s3.bucket("dvc")
        (project / "params.yaml").write_text((ROOT / "presets" / f"{preset}.yaml").read_text())
        run(f"{sys.executable} -m mlkit remote add store s3://dvc/store --endpoint {s3.endpoint} --default",
            project)
        run(f"{sys.executable} -m dvc repro -q", project)
        commit(project, "preset, reproduced")
        remote = tmp / "origin.git"
        git("init", "-q", "--bare", "-b", "main", str(remote), cwd=project)
        git("push", "-q", str(remote), "HEAD:main", cwd=project)
        os.environ.update(CREDS)
        run(f"{sys.executable} -m dvc push -q", project)
        yield tmp, remote, pg
