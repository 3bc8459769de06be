"""`python -m mlkit TOOL ...`: the same as the `mlkit` command."""

from mlkit.tools.cli import main

main()
