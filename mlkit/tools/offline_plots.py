"""DVC plots that render offline: an HTML template with Vega, Vega-Lite and vega-embed inlined.

    mlkit offline-plots check                           # the template matches what DVC references
    mlkit offline-plots build vega-5.20.2.tgz vega-lite-5.2.0.tgz vega-embed-6.18.2.tgz

`dvc plots show` / `dvc plots diff` fill an HTML page whose `{scripts}` placeholder DVC (dvc-render)
replaces by <script src="https://cdn.jsdelivr.net/npm/vega@..."> tags: offline, the page stays blank.
`.dvc/config` points `plots.html_template` at TEMPLATE, a page with no `{scripts}` placeholder and the
three libraries' minified builds inlined, at the exact versions dvc-render references (`build` takes the
tarballs of `npm pack vega@X vega-lite@Y vega-embed@Z`; `check` compares the versions with the installed
dvc-render, so a DVC upgrade that moves them is noticed).
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from pathlib import Path

from mlkit.core.errors import PipelineError

ROOT = Path(__file__).resolve().parents[2]  # mlkit/tools/ -> the project
FOLDER = ROOT / ".dvc" / "plots_offline"
TEMPLATE = FOLDER / "template.html"
CONFIG_VALUE = "plots_offline/template.html"  # plots.html_template, relative to .dvc/ (as DVC reads it)
LIBRARIES = ("vega", "vega-lite", "vega-embed")  # in load order: vega-lite needs vega, vega-embed both
CDN = re.compile(r"cdn\.jsdelivr\.net/npm/(vega(?:-lite|-embed)?)@([0-9][^\"'/\s]*)")
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
MARKER = re.compile(r"<!-- (vega(?:-lite|-embed)?) (\S+) build/\S+ sha256 ([0-9a-f]{64}) -->")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {{refresh_tag}}
    <title>DVC Plot</title>
<!--
Offline DVC plots page (mlkit/tools/offline_plots.py). DVC puts the plots into the body's placeholder; the
page deliberately has no placeholder for DVC's CDN <script> tags: the libraries below are used instead.
Inlined from the npm registry's tarballs (sha256 of the file in the tarball; the inlined copy drops
only its trailing sourceMappingURL comment and has its own sha256 beside its script tag):
{listing}
Their licences (BSD-3-Clause) follow.

{licences}
-->
{scripts}
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def referenced_versions() -> dict[str, str]:
    """The versions of vega, vega-lite and vega-embed the installed dvc-render loads from its CDN."""
    from dvc_render.vega import VegaRenderer

    found = dict(CDN.findall(VegaRenderer.SCRIPTS))
    if set(found) != set(LIBRARIES):
        raise PipelineError(f"dvc-render's VegaRenderer.SCRIPTS no longer names {', '.join(LIBRARIES)}: {found}")
    return found


def _member(archive: tarfile.TarFile, name: str) -> str:
    try:
        member = archive.extractfile(f"package/{name}")
        assert member is not None  # only .tgz files npm packs: every named member is a regular file
        return member.read().decode("utf-8")
    except KeyError:
        raise PipelineError(f"{os.fsdecode(archive.name or '')}: no package/{name} in the tarball") from None


def read_package(tarball: Path) -> dict:
    """Name, version, minified browser build (the file jsDelivr serves) and licence text of an npm tarball."""
    import json

    if not Path(tarball).is_file():
        raise PipelineError(f"{tarball}: no such file (npm pack vega@X vega-lite@Y vega-embed@Z makes them)")
    with tarfile.open(tarball, "r:gz") as archive:
        meta = json.loads(_member(archive, "package.json"))
        build = meta.get("jsdelivr") or meta.get("unpkg")
        if not build:
            raise PipelineError(f"{tarball}: package.json names no browser build (jsdelivr/unpkg)")
        build = build.removeprefix("./")
        code = _member(archive, build)
        licence = _member(archive, "LICENSE")
    return {"name": meta["name"], "version": meta["version"], "build": build, "code": code,
            "sha256": hashlib.sha256(code.encode("utf-8")).hexdigest(), "license": meta.get("license"),
            "license_text": licence.strip()}


def build(tarballs: list[Path], versions: dict[str, str] | None = None) -> str:
    """The template's text from the three npm tarballs, checked against the referenced versions."""
    versions = versions or referenced_versions()
    packages = {p["name"]: p for p in map(read_package, tarballs)}
    if set(packages) != set(LIBRARIES):
        raise PipelineError(f"need the tarballs of {', '.join(LIBRARIES)}; got {', '.join(packages) or 'none'}")
    for name, package in packages.items():
        if package["version"] != versions[name]:
            raise PipelineError(f"{name} {package['version']}: DVC references {name}@{versions[name]}")
        if package["license"] != "BSD-3-Clause":
            raise PipelineError(f"{name}: licence {package['license']}, expected BSD-3-Clause")
        if re.search(r"</script|<!--|\{(plot_divs|scripts|refresh_tag)\}", package["code"], re.I):
            raise PipelineError(f"{name}: its build cannot be inlined as is (</script, <!-- or a DVC placeholder)")
    ordered = [packages[name] for name in LIBRARIES]
    listing = "\n".join(f"  {p['name']} {p['version']} ({p['build']}, sha256 {p['sha256']})" for p in ordered)
    licences = "\n\n".join(f"--- {p['name']} {p['version']} ---\n{p['license_text'].replace('--', '- -')}"
                           for p in ordered)
    scripts = []
    for p in ordered:
        code = SOURCE_MAP.sub("", p["code"])  # the .map file is not shipped
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        scripts.append(f"<!-- {p['name']} {p['version']} {p['build']} sha256 {digest} -->\n"
                       f"<script type=\"text/javascript\">\n{code}\n</script>")
    return PAGE.format(listing=listing, licences=licences, scripts="\n".join(scripts))


def inlined(text: str) -> dict[str, dict]:
    """What a template holds: name -> version, recorded sha256, and whether the inlined code still hashes to it."""
    found = {}
    for match in MARKER.finditer(text):
        name, version, digest = match.groups()
        opening = '<script type="text/javascript">\n'
        start = text.index(opening, match.end()) + len(opening)
        code = text[start:text.index("\n</script>", start)]
        found[name] = {"version": version, "sha256": digest,
                       "matches": hashlib.sha256(code.encode("utf-8")).hexdigest() == digest}
    return found


def check(template: Path = TEMPLATE) -> dict[str, str]:
    """Fail unless the template inlines exactly the versions dvc-render references, intact."""
    if not template.is_file():
        raise PipelineError(f"{template}: no offline plots template (mlkit offline-plots build ...)")
    text = template.read_text(encoding="utf-8")
    versions = referenced_versions()
    found = inlined(text)
    problems = [f"{n}: DVC references {v}, the template holds {found.get(n, {}).get('version', 'nothing')}"
                for n, v in versions.items() if found.get(n, {}).get("version") != v]
    problems += [f"{n}: the inlined code does not match its recorded sha256" for n, f in found.items()
                 if not f["matches"]]
    if text.count("{plot_divs}") != 1 or "{scripts}" in text:
        problems.append("the template needs {plot_divs} once and must not hold {scripts} (DVC's CDN tags)")
    if problems:
        raise PipelineError(f"{template}: " + "; ".join(problems))
    return versions


def write(tarballs: list[Path], output: Path = TEMPLATE) -> None:
    """The template from the npm tarballs of vega, vega-lite and vega-embed, checked once written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(build(tarballs), encoding="utf-8")
    versions = check(output)
    print(f"{output}: {', '.join(f'{n}@{v}' for n, v in versions.items())} inlined")


def verify() -> None:
    """The template holds the versions dvc-render references."""
    versions = check()
    print(f"{TEMPLATE.relative_to(ROOT)}: {', '.join(f'{n}@{v}' for n, v in versions.items())}, intact")
