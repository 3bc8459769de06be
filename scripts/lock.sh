#!/usr/bin/env bash
# Regenerate requirements.txt: the full lock, with hashes, of pyproject.toml's dependencies and all its
# extras, resolved by uv for CI's platform (Python 3.11, x86_64 Linux) whoever runs it. It needs the
# package index and uv (the test extra pins it); scripts/setup.sh installs from the lock.
#
#   bash scripts/lock.sh                         # after a pin changed in pyproject.toml; other pins stay
#   bash scripts/lock.sh --upgrade               # every transitive pin to its newest release
#   bash scripts/lock.sh --upgrade-package rich  # one package to its newest release
#
# torch is left out, and so is each CUDA package that only a CUDA torch pulls in (nvidia-*, cuda-*,
# triton): setup.sh installs torch itself, by default the CPU build, whose wheel and hash are not PyPI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv and python from the project's venv where there is one
if [ -x .venv/bin/uv ]; then PATH="$PWD/.venv/bin:$PATH"; fi
command -v uv >/dev/null || { echo "error: no uv: run scripts/setup.sh first (the test extra pins uv)" >&2; exit 2; }

LOCK=requirements.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
compile() {  # OUTPUT [uv options]: uv keeps the versions OUTPUT pins already, unless told to upgrade
  local out=$1
  shift
  uv pip compile pyproject.toml --all-extras --python-version 3.11 \
    --python-platform x86_64-unknown-linux-gnu --quiet -o "$out" "$@"
}

# Pass 1: everything, torch and CUDA too, starting from the lock's versions (the options go to this pass).
if [ -f "$LOCK" ]; then cp "$LOCK" "$tmp/all.txt"; fi
compile "$tmp/all.txt" --annotation-style line --no-header "$@"
# torch, then each nvidia-*, cuda-* or triton package that only packages already left out require
excluded=$(python - "$tmp/all.txt" <<'PY'
import re
import sys

via = {}
for line in open(sys.argv[1]):
    if m := re.match(r"([A-Za-z0-9._-]+)==\S+\s+# via (.*)", line):
        via[m[1].lower()] = {v.split()[0].lower() for v in m[2].split(",")}
out = {"torch"}
while more := {n for n, up in via.items() if n not in out and re.match(r"nvidia-|cuda-|triton$", n) and up <= out}:
    out |= more
print(" ".join(sorted(out)))
PY
)
no_emit=()
for p in $excluded; do no_emit+=(--no-emit-package "$p"); done

# Pass 2: the lock, with hashes, less those; it starts from pass 1's versions, so the two agree.
cp "$tmp/all.txt" "$tmp/lock.txt"
compile "$tmp/lock.txt" --generate-hashes "${no_emit[@]}" --custom-compile-command "bash scripts/lock.sh"
inputs=$(python -c 'import sys; sys.path[:0] = ["tests"]; import test_lock; print(test_lock.inputs_sha256())')
{
  echo "# The full lock of pyproject.toml's dependencies and extras, transitive ones included, for Python 3.11"
  echo "# on x86_64 Linux, with hashes; scripts/setup.sh installs exactly these. Do not edit it by hand: after"
  echo "# changing pyproject.toml run \`bash scripts/lock.sh\` (tests/test_lock.py fails until then)."
  echo "# pyproject.toml inputs sha256: $inputs"
  cat "$tmp/lock.txt"
} > "$LOCK"
echo "lock.sh: $LOCK: $(grep -c '^[a-z]' "$LOCK") packages; left out: $excluded"
