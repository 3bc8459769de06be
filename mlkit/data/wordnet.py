"""WordNet for nltk: use it where it is, install it where it can be had, and say how otherwise.

    mlkit wordnet      # make WordNet available to nltk (download, or copy Debian's files)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from mlkit.core.errors import PipelineError

DEBIAN_DIR = Path("/usr/share/wordnet")  # apt-get install wordnet-base wordnet-sense-index
LEXNAMES = Path(__file__).with_name("resources") / "wordnet_lexnames"  # nltk needs it; Debian lacks it
HOW = ("WordNet for nltk is missing: run `mlkit wordnet` (it calls nltk.download('wordnet') "
       "where the internet answers; offline, first `apt-get install wordnet-base wordnet-sense-index`)")


def nltk_data_dir() -> Path:
    """The nltk_data folder inside this Python environment (on nltk's search path, no env var needed)."""
    return Path(sys.prefix) / "share" / "nltk_data"


def load():
    """The WordNet corpus reader, loaded now so a missing corpus fails here, with how to fix it."""
    from nltk.corpus import wordnet

    try:
        wordnet.ensure_loaded()
    except LookupError:
        raise PipelineError(HOW) from None
    return wordnet


def install() -> str:
    """Make WordNet loadable; returns how it was done."""
    import nltk

    target = nltk_data_dir() / "corpora" / "wordnet"
    if DEBIAN_DIR.is_dir() and (DEBIAN_DIR / "index.sense").is_file():
        target.mkdir(parents=True, exist_ok=True)
        for path in DEBIAN_DIR.iterdir():
            if path.is_file():
                shutil.copyfile(path, target / path.name)  # copies, not links: nltk reads them as plain files
        shutil.copyfile(LEXNAMES, target / "lexnames")
        return f"copied Debian's WordNet 3.0 from {DEBIAN_DIR} to {target}"
    if nltk.download("wordnet", download_dir=str(nltk_data_dir()), quiet=True):
        return f"downloaded with nltk into {nltk_data_dir()}"
    raise PipelineError(HOW)


def ensure() -> None:
    """WordNet for nltk: already there, or installed (Debian's files, else nltk's download)."""
    try:
        load()
        print("WordNet: already available")
    except PipelineError:
        print(f"WordNet: {install()}")
        load()

