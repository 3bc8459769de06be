"""`python -m mlkit.cli.git_proxy SECONDS HOST PORT`: the git:// relay (mlkit/core/git_proxy.py) as the
program `core.gitProxy` runs, with the host and the port git appends."""

from __future__ import annotations

import sys

from mlkit.core.git_proxy import relay


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m mlkit.cli.git_proxy SECONDS HOST PORT", file=sys.stderr)
        return 2
    seconds, host, port = argv
    return relay(host, int(port), float(seconds))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
