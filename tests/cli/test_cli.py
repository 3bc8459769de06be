"""`mlkit`: one command line (Typer) in front of the tools, its help, and every failure as one `error:` line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from mlkit import cli
from mlkit.core.errors import PipelineError, UsageError

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sklearn", "torch", "transformers", "optuna", "dvc")


def mlkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlkit", *args], cwd=cwd, capture_output=True, text=True)


def commands() -> list[list[str]]:
    """Every command and subcommand, as the words that name it."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        sub = getattr(command, "commands", None)
        if sub is None:
            found.append(path)
            return
        for name, child in sub.items():
            walk(child, [*path, name])

    walk(typer.main.get_command(cli.app), [])
    return found


def test_help_lists_every_command_and_loads_no_heavy_library() -> None:
    probe = ("import sys\nfrom mlkit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "LOADED []" in done.stdout, done.stdout[-300:]  # `mlkit --help` answers at once, torch or not
    for name in ("predict", "preset", "import", "sweep", "search", "retrain", "resplit", "registry", "report",
                 "remote", "offline-plots", "wordnet"):
        assert f"\n  {name} " in done.stdout


@pytest.mark.parametrize("words", commands(), ids=" ".join)
def test_every_command_has_help(words: list[str], capsys: pytest.CaptureFixture) -> None:
    cli.invoke([*words, "--help"])
    shown = capsys.readouterr().out
    assert shown.startswith(f"Usage: mlkit {' '.join(words)} ")
    assert "Traceback" not in shown


@pytest.mark.parametrize(("args", "expected"), [
    (["predict", "in.csv", "--bogus"], "error: mlkit predict: No such option: --bogus (--help for the options)"),
    (["sweep", "-j", "two"], "error: mlkit sweep: Invalid value for '-j' / '--jobs': Input should be a valid integer"),
    (["teleport"], "error: mlkit: No such command 'teleport'."),
    (["search", "--trials", "3"], "error: mlkit search: Missing option '--study'."),
    (["remote", "add", "store"], "error: mlkit remote add: Missing argument 'url'."),
])
def test_a_command_line_that_does_not_parse_is_one_error_line_and_exit_2(args: list[str], expected: str) -> None:
    done = mlkit(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(expected), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["search", "--study", "a b", "--trials", "2", "--space", "model.C=log:0.1:1"], "--study 'a b': letters"),
    (["search", "--study", "s", "--trials", "0", "--space", "model.C=log:0.1:1"], "--trials, --parallel"),
    (["search", "--study", "s", "--trials", "2"], "--space: give at least one"),
    (["search", "--study", "s", "--trials", "2", "--space", "model.C=log:0.1:1", "--git-remote", "u"],
     "--git-remote and --dvc-remote go together"),
    (["retrain", "--space", "model.C=log:0.1:1"], "--space is for the search: give --search-trials N too"),
    (["retrain", "--search-trials", "2"], "--search-trials needs --space"),
    (["report"], "mlkit report: give one of --base REV or --comment FOLDER"),
    (["report", "--comment", "report"], "mlkit report: --comment needs --link URL"),
])
def test_options_are_checked_before_any_work(args: list[str], expected: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked where the options object is built, so `retrain` calling the search gets the same checks; run in
    an empty folder: nothing there is read or written."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineError) as caught:
        cli.invoke(args)
    assert expected in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_2_and_input_errors_exit_1(tmp_path: Path) -> None:
    assert UsageError.exit_code == 2 and PipelineError.exit_code == 1
    done = mlkit("predict", str(tmp_path / "missing.csv"), "--model", str(tmp_path / "no-model"), cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_only_the_command_line_parses_arguments() -> None:
    """No argparse and no argv in the library: tools take typed options (mlkit/cli builds them)."""
    offenders = []
    for path in sorted((ROOT / "mlkit").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if "argparse" in names:
                offenders.append(str(path.relative_to(ROOT)))
            if (isinstance(node, ast.Attribute) and node.attr == "argv" and isinstance(node.value, ast.Name)
                    and node.value.id == "sys" and path.parent.name != "cli"):
                offenders.append(f"{path.relative_to(ROOT)}: sys.argv")
    assert offenders == []
