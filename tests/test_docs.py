"""The documentation site (docs/, mkdocs.yml): the generated reference pages are those the code writes now
(`mlkit reference docs/reference` regenerates them), every page is in the nav, the README stays short and
links into the docs, no page tells the history of a run, and `mkdocs build --strict` builds the site offline
(every link and anchor resolved)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from mlkit.cli import reference
from mlkit.testing import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"


@pytest.mark.fast
@pytest.mark.parametrize("page", [reference.CLI_PAGE, reference.PARAMS_PAGE])
def test_the_generated_reference_is_current(tmp_path, page: str) -> None:
    reference.write(tmp_path)
    committed = (DOCS / "reference" / page).read_text(encoding="utf-8")
    assert committed == (tmp_path / page).read_text(encoding="utf-8"), (
        f"docs/reference/{page} is stale: run `mlkit reference docs/reference` and commit it")


@pytest.mark.fast
def test_the_params_page_names_every_key() -> None:
    from mlkit.core.model_params import MODEL_CLASSES
    from mlkit.core.params import Params

    page = (DOCS / "reference" / reference.PARAMS_PAGE).read_text(encoding="utf-8")
    for section, field in Params.model_fields.items():
        # the model section is a union on model.type: every key of every type's class
        classes = MODEL_CLASSES.values() if section == "model" else [field.annotation]
        for name in {name for cls in classes for name in cls.model_fields}:
            assert f"| `{section}.{name}` |" in page, f"{section}.{name}"
    assert "(read by: svc)" in page and "(read by: transformer)" in page  # model.gamma: which model type reads a model key
    assert "| `model.gamma` | number or string | `0.1` | > 0, `scale`, `auto` |" in page


@pytest.mark.fast
def test_every_page_is_in_the_nav_and_the_site_stays_offline() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def entries(nav: list) -> list[str]:
        out: list[str] = []
        for item in nav:
            value = item if isinstance(item, str) else next(iter(item.values()))
            out += entries(value) if isinstance(value, list) else [value]
        return out

    results = DOCS / "studies" / "results"  # benchmark results, included into the study pages (snippets)
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if results not in p.parents)
    assert sorted(entries(config["nav"])) == pages
    assert config["theme"]["font"] is False  # no web fonts: the site builds and reads offline
    assert "analytics" not in config.get("extra", {})


@pytest.mark.fast
def test_the_readme_is_short_and_links_into_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 13_000
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", text)
    assert links, "the README links into docs/"
    for link in links:
        assert (ROOT / link).is_file(), link
    for line in ("bash scripts/setup.sh", ". .venv/bin/activate", "dvc repro", "mkdocs serve",
                 "python -m pytest -n 2 --dist loadscope", "python -m pytest -m fast"):
        assert line in text, line


@pytest.mark.fast
@pytest.mark.parametrize("home, prefix", [(README, "docs/"), (DOCS / "index.md", "")])
def test_every_tutorial_and_how_to_page_is_one_link_from_the_readme_and_the_docs_home(home, prefix: str) -> None:
    """A newcomer finds the page for a task from the README or the site's home, without the nav."""
    text = home.read_text(encoding="utf-8")
    for page in sorted([*DOCS.glob("tutorials/*.md"), *DOCS.glob("how-to/*.md")]):
        link = prefix + str(page.relative_to(DOCS))
        assert f"]({link})" in text, f"{home.relative_to(ROOT)} does not link {link}"


@pytest.mark.fast
def test_no_page_tells_the_history_of_a_run() -> None:
    """The pages describe the project as it is: no account of runs, no "this round", no "survived its first run"."""
    phrases = re.compile(r"this round|last run here|survived its first|in the last run|latest output|"
                         r"before this work|predates|no GPU was (?:lent|available)|this session|added since|"
                         r"2-core machine|load average", re.I)
    for page in [README, *DOCS.rglob("*.md")]:
        found = phrases.findall(page.read_text(encoding="utf-8"))
        assert not found, f"{page.relative_to(ROOT)}: {found}"


def test_mkdocs_builds_strict_offline(tmp_path) -> None:
    version = subprocess.run([sys.executable, "-m", "mkdocs", "--version"], capture_output=True, text=True)
    if version.returncode:
        pytest.fail("mkdocs is not installed: the docs extra (bash scripts/setup.sh installs it)", pytrace=False)
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "googletagmanager" not in text, page
    assert (site / "search" / "search_index.js").is_file()  # the offline plugin's search index
