"""fetch's memory follows the rows it keeps, not the size of the file it reads (docs/how-to/large-data.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from mlkit.data.formats import CHUNK_BYTES
from mlkit.testing import ENV, Project, copy_project

ROWS = 40_000  # texts of about 3 KB: a 120 MB csv file
WORDS = 500
LIMIT = 8_000  # a fifth of the rows: about 24 MB of text kept
# The kept texts once as Arrow strings plus once while they are gathered into one array; the chunks'
# parsed and cleaned copies (a few times CHUNK_BYTES each, and what the allocator keeps of them) on top.
KEPT_FACTOR = 2.5
CHUNK_ALLOWANCE = 48 * CHUNK_BYTES  # measured peaks 276-291 MiB against this bound of about 390

# A child's peak resident memory, measured in a process of its own: RUSAGE_CHILDREN of pytest would be
# the largest of every child any test started.
PEAK = ("import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
        "sys.exit(done.returncode)\n")


def peak_bytes(project: Project, *command: str) -> int:
    result = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=project.path, env=ENV,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def write_texts(path) -> None:
    """Distinct texts of Zipf-drawn words (no commas or quotes: each row one plain csv line)."""
    rng = np.random.default_rng(7)
    letters = rng.integers(ord("a"), ord("z") + 1, size=(20_000, 10), dtype=np.uint8)
    vocabulary = [bytes(row[:n]).decode() for row, n in zip(letters, rng.integers(2, 10, size=20_000))]
    drawn = (rng.zipf(1.3, size=(ROWS, WORDS)) % len(vocabulary)).tolist()
    labels = rng.choice(["joy", "anger", "fear"], size=ROWS).tolist()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        handle.writelines(f"{' '.join([vocabulary[i] for i in row])},{label}\n" for row, label in zip(drawn, labels))


def test_fetch_peak_memory_follows_the_rows_kept_not_the_file(tmp_path) -> None:
    project = copy_project(tmp_path / "project")
    source = project.file("data/sources/big.csv")
    source.parent.mkdir(parents=True, exist_ok=True)
    write_texts(source)
    project.set_params(data={"sources": [{"kind": "file", "path": "data/sources/big.csv"}], "limit": LIMIT})

    baseline = peak_bytes(project, sys.executable, "-c", "import stages.fetch")  # the interpreter and libraries
    peak = peak_bytes(project, sys.executable, "-m", "stages.fetch")

    card = json.loads(project.file("metrics/data_card.json").read_text())
    assert card["rows_read"] == {"big": ROWS} and card["rows"] == LIMIT
    texts = pd.read_parquet(project.file("data/raw.parquet"))["text"]
    kept = int(texts.str.len().sum())  # ASCII: characters are bytes
    file_size = source.stat().st_size
    assert file_size > 4 * kept  # the file is far larger than what fetch keeps
    bound = baseline + KEPT_FACTOR * kept + CHUNK_ALLOWANCE
    mib = 1 << 20
    print(f"fetch: peak {peak / mib:.0f} MiB, imports {baseline / mib:.0f} MiB, file {file_size / mib:.0f} MiB, "
          f"kept {kept / mib:.0f} MiB, bound {bound / mib:.0f} MiB")
    assert peak < bound, (f"fetch peaked at {peak / mib:.0f} MiB on a {file_size / mib:.0f} MiB file keeping "
                          f"{kept / mib:.0f} MiB of text; bound {bound / mib:.0f} MiB (imports alone "
                          f"{baseline / mib:.0f} MiB)")
