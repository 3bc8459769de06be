"""`mlkit COMMAND ...` (or `python -m mlkit COMMAND ...`): the project's command line, built with Typer.

The one place that parses arguments: each command turns its options into typed values or an options object
(`PredictOptions`, `SearchOptions`, ...) and calls the library function in mlkit.tools. Commands import
their tool inside the function, so `mlkit --help` loads no pandas, scikit-learn, Optuna or torch.

Every failure is one `error:` line: a usage error exits 2, a problem with the input 1, Ctrl+C 130.
"""

from __future__ import annotations

import sys

import typer

from mlkit.cli import experiments, predict, project, serve  # noqa: F401 - each registers its commands on `app`
from mlkit.cli.app import app
from mlkit.core.errors import UsageError, run_main

__all__ = ["app", "invoke", "main"]


def invoke(args: list[str]) -> None:
    """Run `mlkit ARGS`; what the user got wrong raises PipelineError (a command line that does not parse:
    UsageError), for `main` to report."""
    # Typer vendors Click and exports neither of these under its own name.
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError

    try:
        code = typer.main.get_command(app).main(args=args, prog_name="mlkit", standalone_mode=False)
        if code == 130:  # Typer turns Ctrl+C (KeyboardInterrupt) into this exit code: run_main reports it
            raise KeyboardInterrupt
    except NoArgsIsHelpError as exc:  # `mlkit`, `mlkit remote`: the help, as with --help
        print(exc.ctx.get_help() if exc.ctx is not None else "mlkit --help")
    except ClickUsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "mlkit"
        message = exc.format_message().replace("Value error, ", "")  # pydantic's prefix on a bad choice
        raise UsageError(f"{where}: {message} (--help for the options)") from None
    except typer.Abort:  # Click turns Ctrl+C into Abort; run_main reports it
        raise KeyboardInterrupt from None


def main(argv: list[str] | None = None) -> None:
    """`mlkit ARGS` (argv: sys.argv[1:]): every failure one `error:` line (usage 2, input 1, Ctrl+C 130)."""
    args = sys.argv[1:] if argv is None else argv
    run_main(lambda: invoke(args))


if __name__ == "__main__":
    main()
