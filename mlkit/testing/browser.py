"""A real headless Chromium with no network, and what it rendered of a DVC plots page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
NO_CHROMIUM = "no chromium binary on PATH (apt-get install chromium; .ci/run installs it)"
# Every request goes to a proxy that does not exist and no host name resolves: a CDN script cannot load.
OFFLINE = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND"]


def dump_dom(page: Path, budget_ms: int = 15000) -> str:
    """The page's DOM after its scripts ran (virtual time), loaded from file:// with no network."""
    assert CHROMIUM, NO_CHROMIUM
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        args = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
                *OFFLINE, f"--virtual-time-budget={budget_ms}", "--dump-dom", Path(page).resolve().as_uri()]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and "<html" in done.stdout, \
        f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done.stdout


def plot_ids(page_html: str) -> list[str]:
    """The ids of the plots DVC put in the page (each one a `vegaEmbed('#id', spec)` call)."""
    return re.findall(r"vegaEmbed\('#([^']+)'", page_html)


class _Plots(HTMLParser):
    """For each element with a wanted id: the tags and the visible text inside it."""

    def __init__(self, ids: list[str]):
        super().__init__()
        self.wanted = set(ids)
        self.found: dict[str, dict] = {}
        self.open: list[tuple[str, int]] = []  # (id, depth where it opened)
        self.depth = 0
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for plot, _ in self.open:
            self.found[plot]["tags"].append((tag, attrs))
        if tag in ("script", "style"):
            self.in_script = True
        if tag in ("br", "img", "input", "meta", "link", "hr"):  # void elements have no end tag
            return
        self.depth += 1
        if attrs.get("id") in self.wanted:
            self.found[attrs["id"]] = {"tags": [(tag, attrs)], "text": ""}  # vega-embed classes the element itself
            self.open.append((attrs["id"], self.depth))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.in_script = False
        if self.open and self.open[-1][1] == self.depth:
            self.open.pop()
        self.depth -= 1

    def handle_data(self, data):
        if not self.in_script:
            for plot, _ in self.open:
                self.found[plot]["text"] += data


def rendered(page: Path) -> dict[str, str]:
    """Each plot of a DVC page -> '' when vega-embed drew it (a non-empty svg or canvas) with no stray checkbox,
    else what is wrong."""
    ids = plot_ids(page.read_text(encoding="utf-8"))
    assert ids, f"{page}: no vegaEmbed call, not a DVC plots page"
    parser = _Plots(ids)
    parser.feed(dump_dom(page))
    verdict = {}
    for plot in ids:
        found = parser.found.get(plot)
        if found is None:
            verdict[plot] = "its element is missing from the DOM"
            continue
        graphics = [a for t, a in found["tags"] if t in ("svg", "canvas")
                    and float(a.get("width") or 0) > 0 and float(a.get("height") or 0) > 0]
        embedded = any("vega-embed" in (a.get("class") or "") for _, a in found["tags"])
        text = " ".join(found["text"].split())
        checkboxes = [a for t, a in found["tags"] if t == "input" and a.get("type") == "checkbox"]
        if re.search(r"error", text, re.I):
            verdict[plot] = f"error text: {text[:300]}"
        elif checkboxes:  # DVC's confusion template binds a bare `showValues` checkbox under the plot
            verdict[plot] = f"a stray checkbox: {checkboxes[0]}"
        elif not (embedded and graphics):
            verdict[plot] = f"nothing drawn (vega-embed container: {embedded}, sized svg/canvas: {len(graphics)})"
        else:
            verdict[plot] = ""
    return verdict
