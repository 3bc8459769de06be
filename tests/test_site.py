"""The built docs site as a reader gets it: served on 127.0.0.1 (as `mkdocs serve` does) and opened in a real
headless Chromium that reaches nothing else. The home page renders with its map of tasks, a study page shows
the table and figure its benchmark wrote, search finds a page with no network, and no internal link or anchor
of the site is broken (LinkChecker walks every page)."""

from __future__ import annotations

import csv
import functools
import http.server
import io
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlkit.testing import ROOT
from mlkit.testing.browser import CHROMIUM, LOOPBACK_ONLY, NO_CHROMIUM, Browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # LinkChecker checks at most 10 requests a second on a host unless the host answers with this header.
        self.send_header("LinkChecker", "allowed")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The site built (strict) and served on 127.0.0.1; its base URL."""
    with tempfile.TemporaryDirectory(prefix="mlkit-site-") as tmp:
        built = Path(tmp) / "site"
        done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(built)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        assert done.returncode == 0, done.stdout + done.stderr
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=built))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(LOOPBACK_ONLY) as opened:
        yield opened


def test_the_home_page_renders_its_title_nav_and_map_of_tasks(site: str, browser: Browser) -> None:
    browser.open(site)
    assert browser.evaluate("document.querySelector('article h1').textContent").startswith("mlkit")
    nav = browser.evaluate("document.querySelector('nav.md-nav--primary').textContent")
    for section in ("Tutorials", "How-to guides", "Reference", "Explanation", "Studies"):
        assert section in nav, section
    links = browser.evaluate("Array.from(document.querySelectorAll('article a')).map(a => a.href)")
    for page in ("tutorials/own-data.html", "tutorials/workers.html", "how-to/predict.html"):
        assert any(link.startswith(site + page) for link in links), page


def test_a_study_page_shows_the_table_and_figure_its_benchmark_wrote(site: str, browser: Browser) -> None:
    browser.open(site + "studies/run-cache.html")
    headers = browser.evaluate("Array.from(document.querySelectorAll('article table th')).map(th => th.innerText)")
    assert headers == ["dvc repro", "seconds"]
    assert "python -m benchmarks run_cache" in browser.evaluate("document.querySelector('article small').innerText")
    browser.open(site + "studies/resplit.html")
    # the figure loaded and drawn: an image that fails to load has no natural size
    sizes = browser.wait_for("Array.from(document.querySelectorAll('article img')).every(i => i.complete) && "
                             "Array.from(document.querySelectorAll('article img')).map(i => i.naturalWidth)")
    assert sizes and all(width > 0 for width in sizes), sizes


def test_search_finds_a_page_with_no_network(site: str, browser: Browser) -> None:
    browser.open(site)
    browser.evaluate("document.querySelector('.md-search__input').focus()")
    browser.type("run-cache")
    found = browser.wait_for("Array.from(document.querySelectorAll('.md-search-result__item a'))"
                             ".map(a => a.href)", timeout=30)
    assert found[0].startswith(site + "studies/run-cache.html"), found  # the page itself comes first


def test_no_internal_link_or_anchor_is_broken(site: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as config:
        # anchors checked too; as many requests as the server takes; the site only, nothing outside it
        config.write("[checking]\nthreads=8\nmaxrequestspersecond=1000\n[filtering]\ncheckextern=0\n"
                     "[AnchorCheck]\n")
    os.chmod(config.name, 0o644)  # run as root, LinkChecker drops to user nobody before reading it
    try:
        done = subprocess.run([str(Path(sys.executable).parent / "linkchecker"), "-f", config.name, "--no-status",
                               "--no-robots", "--verbose", "-o", "csv", site], capture_output=True, text=True, timeout=240)
    finally:
        os.unlink(config.name)
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in done.stdout.splitlines()
                                                    if not line.startswith("#"))), delimiter=";"))
    pages = {r["url"] for r in rows if r["url"].endswith(".html")}
    assert len(pages) > 40, done.stdout[-2000:] + done.stderr[-2000:]  # every page was walked
    broken = [f"{r['parentname']} -> {r['urlname']}: {r['result']} {r['warningstring'][:200]}" for r in rows
              if r["valid"] != "True" or r["warningstring"]]
    assert broken == [], "\n".join(broken)
