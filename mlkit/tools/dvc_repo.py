"""The one way the tools reach DVC: functions named by what they do, over DVC's Python API (`dvc.repo.Repo`,
its config); its experiments and queue in dvc_experiments.py. Git: mlkit/core/vcs.py.

Only where the API cannot do it do this module and dvc_experiments.py, and no other, run the `dvc` program:
`dvc queue start` (its workers must be processes of their own); `exp run --queue` and `pull` in another
repository than the current folder (see queue_experiments); `queue logs`, `queue stop --kill` and `exp
push`, whose API prints into this process or leaves the failure checks to the command; the `--md` tables
and offline HTML of `metrics diff`, `params diff` and `plots diff`, rendered by the command-line layer.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.vcs import env, is_work_tree

if TYPE_CHECKING:
    from dvc.repo import Repo

Root = Path | str


# ---------------------------------------------------------------- the project
@contextmanager
def quiet(level: int = logging.WARNING) -> Iterator[None]:
    """DVC's API logs its progress at INFO ("Importing ...") on stdout: the tools say it in their own lines."""
    logger = logging.getLogger("dvc")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def opened(root: Root = ".") -> Iterator[Repo]:
    """The DVC project at `root`, closed after use."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        yield repo


def find_root() -> Path:
    """The DVC project holding the current folder, which git must track (its work tree)."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        root = Path(Repo.find_root())
    except NotDvcRepoError:
        raise PipelineError(f"{Path.cwd()}: not in a DVC project (no .dvc folder here or above); "
                            "run from the project's folder") from None
    if not is_work_tree(root):
        raise PipelineError(f"{root}: a DVC project outside git; the report compares git revisions")
    return root


@contextmanager
def _output_hidden() -> Iterator[None]:
    """File descriptors 1 and 2 (so the stage commands DVC starts too) into a file: the tools never showed
    what `dvc repro` prints."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


@contextmanager
def _program_path() -> Iterator[None]:
    """This interpreter's bin first on PATH while DVC runs stage commands (`python -m stages.X`), as the
    `dvc` program run from this interpreter would have."""
    before = os.environ.get("PATH", "")
    os.environ["PATH"] = env()["PATH"]
    try:
        yield
    finally:
        os.environ["PATH"] = before


# ---------------------------------------------------------------- the pipeline
@dataclass
class Reproduced:
    """What one `dvc repro` did: stages whose command ran, stages whose outputs came from the run-cache."""

    ran: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)


def reproduce(targets: Sequence[str] = (), *, force: bool = False, single_item: bool = False,
              root: Root = ".") -> Reproduced:
    """`dvc repro [-f] [-s] [TARGETS]`: `Repo.reproduce` returns the stages it reproduced, but not which it
    restored from the run-cache (no API says so, cf. treeverse/dvc#8342): this repo's run-cache restore is
    watched meanwhile."""
    from dvc.exceptions import DvcException

    restored: list[str] = []
    with quiet(logging.ERROR), _program_path(), _output_hidden(), opened(root) as repo:
        cache = repo.stage_cache
        real_restore = cache.restore

        def restore(stage: Any, *args: Any, **kwargs: Any) -> Any:
            done = real_restore(stage, *args, **kwargs)  # raises RunCacheNotFoundError when it has none
            if not kwargs.get("dry"):
                restored.append(stage.addressing)
            return done

        cache.restore = restore  # type: ignore[method-assign]
        try:
            stages = repo.reproduce(list(targets) or None, force=force, single_item=single_item)
        except (DvcException, OSError) as exc:
            shown = " ".join(["dvc repro", *(["-f"] if force else []), *(["-s"] if single_item else []), *targets])
            why = first_line(exc) + ("" if exc.__cause__ is None else f": {first_line(exc, cause=True)}")
            raise PipelineError(f"`{shown}` failed: {why}") from None
        finally:
            cache.restore = real_restore  # type: ignore[method-assign]
    names = [stage.addressing for stage in stages]
    return Reproduced([s for s in names if s not in restored], [s for s in names if s in restored])


def imported_stages(root: Root = ".") -> list[str]:
    """The .dvc files of `dvc import-url`ed data."""
    with quiet(), opened(root) as repo:
        return sorted(stage.relpath for stage in repo.index.stages if stage.is_import)


def update_imports(targets: Sequence[str], root: Root = ".") -> None:
    """`dvc update TARGETS`: each import brought up to date with its origin."""
    from dvc.exceptions import DvcException

    with quiet(), opened(root) as repo:
        try:
            repo.update(targets=list(targets))
        except (DvcException, OSError) as exc:
            raise PipelineError(f"`dvc update` failed: {first_line(exc, cause=True)}") from None


def import_url(url: str, out: str, *, force: bool = False, root: Root = ".") -> None:
    """`dvc import-url [--force] URL OUT`."""
    from dvc.exceptions import DvcException

    with quiet(), opened(root) as repo, redirect_stdout(sys.stderr):
        try:
            repo.imp_url(url, out=out, force=force)
        except (DvcException, OSError) as exc:
            why = first_line(exc) + ("" if exc.__cause__ is None else f": {first_line(exc, cause=True)}")
            raise PipelineError(f"`dvc import-url {url} {out}` failed: {why}") from None


def stale_stages(root: Root = ".") -> list[str]:
    """`dvc status`, quiet: a frozen import's warning is noise here."""
    with quiet(logging.ERROR), opened(root) as repo:
        return sorted(repo.status())


def push_outputs(root: Root = ".") -> int:
    """`dvc push` to the default remote; the number of files pushed."""
    with quiet(), opened(root) as repo:
        return repo.push()


def pull_outputs(remote: str, root: Root = ".") -> None:
    """`dvc pull -r REMOTE`, by the program: see dvc_experiments.queue_experiments."""
    done = dvc_program(["pull", "-r", remote], root)
    if done.returncode != 0:
        # Not -q: it hides the errors too. The first ERROR line says why (a 403, a missing bucket); the last
        # only counts the files that failed.
        errors = [ln.strip() for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
        raise PipelineError(f"dvc pull failed ({errors[0] if errors else last_line(done)})")


# ---------------------------------------------------------------- config
def _config(root: Root = ".") -> Any:
    from dvc.config import Config

    return Config(dvc_dir=str(Path(root).resolve() / ".dvc"), validate=False)


def merged_config(root: Root = ".") -> Any:
    """The project's DVC config, every level merged and checked, local paths made absolute."""
    from dvc.config import Config

    return Config(dvc_dir=str(Path(root).resolve() / ".dvc"))


def local_config(root: Root = ".") -> Any:
    """.dvc/config.local alone (`dvc config --local --list`), unchecked."""
    return _config(root).load_one("local")


def remote_names(root: Root = ".") -> list[str]:
    """`dvc remote list`: every level merged."""
    return list(_config(root).get("remote", {}))


def add_remote(name: str, url: str, *, default: bool = False, local: bool = False, root: Root = ".") -> None:
    """`dvc remote add --force [--default] [--local] NAME URL`: what the command writes, through DVC's config."""
    name = name.lower()  # as `dvc remote` names it
    with _config(root).edit("local" if local else "repo") as conf:
        conf["remote"][name] = {"url": url}
        if default:
            conf["core"]["remote"] = name


def set_remote_option(name: str, option: str, value: str, *, local: bool = False, root: Root = ".") -> None:
    """`dvc remote modify [--local] NAME OPTION VALUE`, checked by DVC's config schema."""
    from dvc.config import ConfigError, merge

    name = name.lower()
    config = _config(root)
    level = "local" if local else "repo"
    try:
        with config.edit(level) as conf:
            merged = config.load_config_to_level(level)
            merge(merged, conf)
            if name not in merged["remote"]:
                raise ConfigError(f"remote '{name}' doesn't exist.")
            conf["remote"].setdefault(name, {})[option] = value
    except ConfigError as exc:
        raise PipelineError(f"dvc remote modify {name} {option}: {first_line(exc)}") from None


def share_cache(origin: Root, root: Root) -> None:
    """`dvc cache dir --local CACHE`, CACHE the cache of the project at `origin`."""
    with opened(origin) as repo:
        cache = repo.cache.local_cache_dir
    with _config(root).edit("local") as conf:
        conf["cache"]["dir"] = str(cache)


# ---------------------------------------------------------------- the dvc program
def dvc_program(args: Sequence[str], root: Root, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The `dvc` program, where the API cannot do it (see the module's docstring); for the DVC adapter
    modules (this one, dvc_experiments.py) only."""
    options: dict[str, Any] = {"capture_output": True, "env": env(), **kwargs}
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, text=True, stdin=subprocess.DEVNULL,
                          **options)


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit {done.returncode}"


# ---------------------------------------------------------------- comparing with a git revision
def _rendered(args: Sequence[str], root: Root) -> str:
    done = dvc_program(args, root)
    if done.returncode != 0:
        raise PipelineError(f"`dvc {' '.join(args)}` failed: {last_line(done)}")
    return done.stdout


def metrics_diff_markdown(base: str, targets: Sequence[str] = (), root: Root = ".") -> str:
    """`dvc metrics diff BASE --md [--targets ...]`: the Markdown table of what changed since `base`."""
    return _rendered(["metrics", "diff", base, "--md", *(["--targets", *targets] if targets else [])], root)


def params_diff_markdown(base: str, root: Root = ".") -> str:
    return _rendered(["params", "diff", base, "--md"], root)


def plots_diff_json(base: str, root: Root = ".") -> str:
    """Every plot's Vega-Lite spec, with both revisions' data."""
    return _rendered(["plots", "diff", base, "--json"], root)


def write_plots_html(base: str, out: Path, root: Root = ".") -> None:
    """OUT/index.html, through the project's plot templates."""
    _rendered(["plots", "diff", base, "-o", str(out)], root)
