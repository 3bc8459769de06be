"""`mlkit TOOL ...`: one entry point for the user-facing tools (`python -m mlkit TOOL ...` without installing).

Each tool is a module with its own `--help`; `python -m mlkit.tools.TOOL` runs the same code.
"""

from __future__ import annotations

import importlib
import sys

from mlkit.core.errors import run_main

# name -> (module, one line for `mlkit --help`)
TOOLS = {
    "predict": ("mlkit.tools.predict", "classify a file with a saved model (and score it if labelled)"),
    "preset": ("mlkit.tools.preset", "list the presets, or copy one into params.yaml"),
    "import": ("mlkit.tools.imports", "dvc import-url the sources params.yaml names with import_url"),
    "sweep": ("mlkit.tools.sweep", "a -S grid through DVC's experiment queue, with a results table"),
    "search": ("mlkit.tools.search", "Optuna hyper-parameter search over queued DVC experiments"),
    "resplit": ("mlkit.tools.resplit", "the digits study: gamma against many seeded re-splits"),
    "registry": ("mlkit.tools.registry", "promote HEAD's model in the registry (GTO) when compare says so"),
    "retrain": ("mlkit.tools.retrain", "scheduled retraining: dvc update, repro, search, commit, promote, push"),
    "report": ("mlkit.tools.report", "the review report of a change: metrics, params, compare, plots"),
    "remote": ("mlkit.tools.remote", "set up the S3 DVC remote and check its secrets"),
    "offline-plots": ("mlkit.tools.offline_plots", "the offline template for `dvc plots show`"),
    "wordnet": ("mlkit.data.wordnet", "install WordNet for nltk (synonym augmentation) from Debian's files"),
}


def usage() -> str:
    width = max(map(len, TOOLS))
    lines = [f"  {name:<{width}}  {line}" for name, (_, line) in TOOLS.items()]
    return "usage: mlkit TOOL [ARGS...]   (`mlkit TOOL --help` for each)\n\ntools:\n" + "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return
    name, rest = args[0], args[1:]
    if name not in TOOLS:
        print(f"error: unknown tool {name!r}; one of: {', '.join(TOOLS)}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(TOOLS[name][0])
    sys.argv = [f"mlkit {name}", *rest]  # each tool parses sys.argv[1:]
    run_main(module.main)


if __name__ == "__main__":
    main()
