"""A search worker's private clone: its own DVC queue; the origin's DVC cache, or a DVC remote (mlkit search)."""

from __future__ import annotations

import math
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError, first_line
from mlkit.tools import dvc_repo
from mlkit.tools.experiments import dvc_experiments
from mlkit.tools.experiments import queue as ex

METRICS_FILE = paths.EVAL_METRICS
LOG_TAIL = 15
POLL_SECONDS = 2.0
DVC_REMOTE = "mlkit-search"  # the name a worker gives a --dvc-remote URL in its clone's local config


@dataclass
class Clone:
    """A worker's private clone: its own DVC queue, the origin repository's DVC cache."""

    path: Path
    origin: Path | str
    dvc_remote: str | None = None  # a remote worker's: experiments push their outputs there

    @classmethod
    def create(cls, root: Path, study: str) -> Clone:
        head = vcs.head(root)
        path = root / ".dvc" / "tmp" / "search" / f"{study}-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        vcs.clone(str(root), path, root)
        vcs.checkout_detached(head, path)
        dvc_repo.share_cache(root, path)
        return cls(path, root)

    @classmethod
    def from_remote(cls, url: str, dvc_remote: str, rev: str | None, workdir: Path, study: str) -> Clone:
        """A remote worker's clone: `git clone URL`, REV checked out (default: the remote's HEAD), the DVC
        remote (a name in the project's DVC config, or a URL added to the clone's local config), `dvc pull`."""
        path = workdir / f"{study}-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            vcs.clone(url, path, workdir)
        except PipelineError as exc:
            raise PipelineError(f"--git-remote {url}: {first_line(exc)}") from None
        clone = cls(path, url)
        try:
            target = rev or "origin/HEAD"
            try:
                found = vcs.resolve_rev(target, "--rev", path)
            except PipelineError:
                raise PipelineError(f"--rev {target}: no such commit, tag or branch in {url}") from None
            vcs.checkout_detached(found, path)
            if dvc_remote in dvc_repo.remote_names(path):
                clone.dvc_remote = dvc_remote
            else:
                dvc_repo.add_remote(DVC_REMOTE, dvc_remote, local=True, root=path)
                clone.dvc_remote = DVC_REMOTE
            try:
                dvc_repo.pull_outputs(clone.dvc_remote, path)
            except PipelineError as exc:
                raise PipelineError(f"--dvc-remote {dvc_remote}: {first_line(exc)}; "
                                    "`dvc push` the project's outputs there first") from None
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        return clone

    @property
    def commit(self) -> str:
        return vcs.head(self.path)
    def queue(self, name: str, overrides: list[str]) -> str | None:
        """Queue one experiment; the error text when DVC refuses it."""
        try:
            dvc_experiments.queue_experiments(overrides, name, self.path)
        except PipelineError as exc:
            return str(exc)
        return None

    def run_queue(self, names: list[str], jobs: int) -> None:
        """Run the named entries with the clone's own queue workers, which are stopped once they are done."""
        # The clone's queue is this worker's alone, and its entries are named: a name finds its task.
        revs = [entry["rev"] for entry in ex.queue_status(self.path) if entry["name"] in names]
        ex.wait(revs, jobs, self.path, poll=POLL_SECONDS, stop=True, report=lambda line: print(line, flush=True))

    def results(self, names: list[str], metric: str) -> dict[str, float | str]:
        """Name -> the metric's value, or why the experiment has none (a failed one's row holds the
        baseline's metrics: only State decides)."""
        rows = {row["Experiment"]: row for row in dvc_experiments.experiment_rows(self.path) if row.get("Experiment")}
        out: dict[str, float | str] = {}
        for name in names:
            row = rows.get(name)
            if row is None or row.get("State") != "Success":
                tail = "\n".join(f"    | {line}" for line in ex.failure_log(name, self.path, LOG_TAIL).splitlines())
                out[name] = f"the experiment {'failed' if row else 'is missing'}\n{tail}"
                continue
            # exp_show names a metric by its key alone unless two files share it (then `file:key`).
            values = row.get(f"{METRICS_FILE}:{metric}", row.get(metric))
            if isinstance(values, (int, float)) and not isinstance(values, bool) and math.isfinite(values):
                out[name] = float(values)
            else:
                out[name] = f"{metric} is not a number in {METRICS_FILE} (got {values!r})"
        return out

    def push(self, names: list[str]) -> str | None:
        """Push finished experiments to origin; why not, if that failed. A remote worker's outputs go to its
        DVC remote; a local worker's are in the shared cache already, so only the experiment refs travel."""
        if not names:
            return None
        why = dvc_experiments.push_experiments("origin", names, self.dvc_remote, self.path)
        return None if why is None else f"dvc exp push to {self.origin} failed: {why[-400:]}"

    def remove(self) -> None:
        """End what still runs (an interrupted search: its experiments, then the workers); delete the clone."""
        if ex.live_workers(self.path):
            dvc_experiments.kill_queue(self.path)
            ex.stop_workers(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
