"""A real headless Chromium with no network: what it rendered of a DVC plots page, and a page driven through
the DevTools protocol (typing, reading the DOM) for the docs site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
NO_CHROMIUM = "no chromium binary on PATH (apt-get install chromium; .ci/run installs it)"
# Every request goes to a proxy that does not exist and no host name resolves: a CDN script cannot load.
OFFLINE = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND"]
# The same, but 127.0.0.1 reachable: a site served on loopback (as `mkdocs serve` does) and nothing else.
LOOPBACK_ONLY = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


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


def _high(fd: int) -> int:
    """The pipe end moved to fd 10 or above, so putting Chromium's ends on 3 and 4 overwrites neither."""
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
    messages ended by NUL on fds 3 and 4), so no extra client library and no debugging port is needed.
    One tab; `open` a URL, `evaluate` JavaScript in it, `type` into the focused element as key presses."""

    def __init__(self, flags: list[str] = OFFLINE):
        assert CHROMIUM, NO_CHROMIUM
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_chrome, self._write = map(_high, os.pipe())
        self._read, from_chrome = map(_high, os.pipe())
        args = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}", *flags]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        # Chromium reads commands from fd 3 and writes replies to fd 4.
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(3, 4),
                                         preexec_fn=lambda: (os.dup2(to_chrome, 3), os.dup2(from_chrome, 4)))
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._id = 0
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", session=True)

    def _call(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60) -> dict:
        self._id += 1
        message: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    assert "error" not in reply, f"{method}: {reply['error']}"
                    return reply["result"]
            assert time.monotonic() < deadline, f"chromium did not answer {method} in {timeout} s"
            chunk = os.read(self._read, 1 << 16)
            assert chunk, f"chromium exited ({self._process.poll()}) during {method}"
            self._buffer += chunk

    def open(self, url: str) -> None:
        """Load `url` and wait until its load event has fired."""
        self._call("Page.navigate", {"url": url}, session=True)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                 "awaitPromise": True}, session=True)
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> object:
        """Poll until the expression is truthy; its value, or an AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(expression)):
            assert time.monotonic() < deadline, f"not true after {timeout} s: {expression}"
            time.sleep(0.1)
        return value

    def type(self, text: str) -> None:
        """Key presses into the focused element, one character at a time, as a user types."""
        for char in text:
            self._call("Input.dispatchKeyEvent", {"type": "keyDown", "key": char, "text": char}, session=True)
            self._call("Input.dispatchKeyEvent", {"type": "keyUp", "key": char}, session=True)

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        os.close(self._read)
        os.close(self._write)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
