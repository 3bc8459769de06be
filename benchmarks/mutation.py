"""Mutation check: plant one bug at a time in a scratch copy of the project, run the tests that guard it.

    python -m benchmarks mutation                 # every mutant (about 10 minutes on 2 cores)
    python -m benchmarks mutation --fast          # only the mutants whose tests are fast (about 1 minute)
    python -m benchmarks mutation --only decide-uses-high,skops-trusts-all   # (or --only twice)
    python -m benchmarks mutation --list

Each run records its mutants and their results in docs/studies/results/mutation.{json,md} (the arguments
with them; --no-record: not).

The copy holds the tracked and untracked-but-not-ignored files (mlkit.testing.copy_tracked), committed in
its own git repository (tests read the committed params.yaml), with ../shared linked beside it. First the
guarding tests run unmutated and must pass; then each mutant is applied alone, its tests run (`pytest -x`),
and the file is put back. A mutant is killed when its tests fail (exit status 1), survived when they pass;
any other status (collection error, no tests) is reported as an error. The score is killed / mutants.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._mutants import MUTANTS, Mutant
from mlkit.testing import copy_tracked, git
from mlkit.testing.bench import GIT_ID, SHARED, env, record, table


def scratch_copy(folder: Path) -> Path:
    """The project in `folder`/project, committed, with ../shared beside it."""
    project = folder / "project"
    if SHARED.is_dir():
        (folder / "shared").symlink_to(SHARED, target_is_directory=True)
    copy_tracked(project)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git(*GIT_ID, "commit", "-qm", "mutation scratch copy", cwd=project)
    return project


def pytest(project: Path, args: tuple[str, ...], extra: list[str] | None = None) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--durations=0",
                           *(extra or []), *args], cwd=project, env=env(), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, time.perf_counter() - started, lines[-1] if lines else done.stderr.strip()[-200:]


Group = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]  # pytest options, workspace


def baseline(mutants: list[Mutant]) -> dict[Group, tuple[str, ...]]:
    """Every mutant's tests, unmutated, in as few runs as their options and workspaces allow."""
    groups: dict[Group, set[str]] = {}
    for mutant in mutants:
        options = tuple(arg for arg in mutant.tests if not arg.startswith("tests/"))
        paths = groups.setdefault((options, mutant.workspace), set())
        paths.update(arg for arg in mutant.tests if arg.startswith("tests/"))
    return {group: tuple(sorted(p for p in paths if p.split("::")[0] == p or p.split("::")[0] not in paths))
            for group, paths in groups.items()}


@contextmanager
def workspace(project: Path, files: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """The workspace as a user may leave it (a preset applied): uncommitted changes, put back afterwards."""
    saved = {name: (project / name).read_bytes() for name, _ in files}
    try:
        for name, source in files:
            (project / name).write_bytes((project / source).read_bytes())
        yield
    finally:
        for name, content in saved.items():
            (project / name).write_bytes(content)


def mutate(project: Path, mutant: Mutant) -> str:
    path = project / mutant.path
    original = path.read_text(encoding="utf-8")
    text = original
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise SystemExit(f"mutant {mutant.name}: {old!r} occurs {count} times in {mutant.path} (the code moved?)")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME[,NAME...]", help="run these mutants (repeatable)")
    parser.add_argument("--fast", action="store_true", help="only mutants whose guarding tests are fast")
    parser.add_argument("--list", action="store_true", help="list the mutants and their tests")
    parser.add_argument("--no-record", action="store_true", help="leave docs/studies/results/mutation.* as they are")
    args = parser.parse_args()
    only = {name for names in args.only or [] for name in names.split(",") if name}
    chosen = [m for m in MUTANTS if (not only or m.name in only) and (m.fast or not args.fast)]
    unknown = only - {m.name for m in MUTANTS}
    if unknown:
        raise SystemExit(f"unknown mutant(s): {', '.join(sorted(unknown))}; --list shows them")
    if args.list:
        print(table(["mutant", "bug", "file", "tests"], [(m.name, m.what, m.path, " ".join(m.tests)) for m in chosen]))
        return
    with tempfile.TemporaryDirectory(prefix="mlkit-mutation-") as tmp:
        project = scratch_copy(Path(tmp))
        for mutant in chosen:  # every edit must apply to the code as it is now, before anything runs
            (project / mutant.path).write_text(mutate(project, mutant), encoding="utf-8")
        for (options, files), paths in baseline(chosen).items():
            with workspace(project, files):
                code, seconds, summary = pytest(project, (*paths, *options))
            shown = " ".join((*paths, *options)) + "".join(f" [{name} <- {source}]" for name, source in files)
            print(f"unmutated: {shown}: {summary} ({seconds:.0f} s)", flush=True)
            if code != 0:
                raise SystemExit("the guarding tests fail without any mutant: fix them first")
        rows = []
        for mutant in chosen:
            original = mutate(project, mutant)
            try:
                with workspace(project, mutant.workspace):
                    code, seconds, summary = pytest(project, mutant.tests)
            finally:
                (project / mutant.path).write_text(original, encoding="utf-8")
            verdict = {0: "SURVIVED", 1: "killed"}.get(code, f"error ({code})")
            rows.append((mutant.name, mutant.what, verdict, round(seconds), summary))
            print(f"{mutant.name}: {verdict} ({summary})", flush=True)
    killed = sum(row[2] == "killed" for row in rows)
    print()
    print(table(["mutant", "planted bug", "result", "s", "tests"], rows))
    print(f"mutation score: {killed}/{len(rows)} killed ({killed / len(rows):.0%})")
    if not args.no_record:
        save(sys.argv[1:], rows, chosen, len(MUTANTS))
    if killed < len(rows):
        sys.exit(1)


def save(arguments: list[str], rows: list[tuple[str, str, str, int, str]], chosen: list[Mutant], defined: int) -> None:
    """docs/studies/results/mutation.{json,md}: which mutants ran (the arguments), and each one's result."""
    killed = sum(row[2] == "killed" for row in rows)
    which = f"`{' '.join(arguments)}`: {len(rows)} of the {defined} mutants" if arguments else f"all {defined} mutants"
    note = f"Mutants run ({which}); killed: {killed} of {len(rows)}."
    record("mutation", {"arguments": arguments, "mutants_defined": defined, "mutants_run": len(rows), "killed": killed,
                        "results": [{"mutant": name, "bug": what, "file": mutant.path, "tests": list(mutant.tests),
                                     "result": verdict, "seconds": seconds, "pytest": summary}
                                    for (name, what, verdict, seconds, summary), mutant in zip(rows, chosen)]},
           ["mutant", "planted bug", "file", "result", "pytest"],
           [(name, what, mutant.path, verdict, summary)
            for (name, what, verdict, _, summary), mutant in zip(rows, chosen)], note=note)


if __name__ == "__main__":
    main()
