"""`python -m mlkit COMMAND ...`: the same as the `mlkit` command."""

from mlkit.cli import main

main()
