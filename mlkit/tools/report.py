"""The review report of a change: metrics, params, the compare stage's decision and the changed plots.

    mlkit report --base main -o report/           # the workspace against a branch or commit
    mlkit report --comment report/ --link URL     # the report as a PR comment body, on stdout

Writes, in the output folder:
  report.md          `dvc metrics diff --md BASE` (per-class figures and data cards folded), `dvc params
                     diff --md BASE`, metrics/compare.md as it is, and the plots whose data changed, as images
  plots/*.png        those plots (DVC's Vega-Lite specs with their data, from `dvc plots diff --json`,
                     drawn offline by vl-convert)
  plots/index.html   `dvc plots diff BASE`: every plot, interactive, offline (.dvc/plots_offline)

Run it after `dvc repro`, from the project. `--comment` prints report.md for a pull-request comment:
a comment cannot show files it cannot reach, so each image becomes a link to URL (the workflow run's
artifact, which holds the folder), and the first line is a marker the workflow finds the comment by.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

from mlkit.core import paths, vcs
from mlkit.core.errors import PipelineError
from mlkit.core.io import read_table
from mlkit.tools import dvc_repo

COMPARE_MD = Path(paths.COMPARE_MD)
COMPARE_JSON = Path(paths.COMPARE_JSON)
MARKER = "<!-- mlkit-pr-review -->"
COMMENT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
IMAGE = re.compile(r"!\[([^\]]*)\]\((plots/[^)\s]+\.png)\)")


def _finite(value):
    """JSON as vl-convert reads it: no Infinity or NaN (ROC's first threshold is +inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _rows_by_rev(spec: dict) -> dict[str, list[str]]:
    values = (spec.get("data") or {}).get("values") or []
    rows: dict[str, list[str]] = {}
    for row in values:
        if isinstance(row, dict):
            rest = {k: v for k, v in row.items() if k != "rev"}
            rows.setdefault(str(row.get("rev")), []).append(json.dumps(rest, sort_keys=True, default=str))
    return {rev: sorted(r) for rev, r in rows.items()}


def changed_plots(diff: dict, base_label: str) -> tuple[list[dict], list[str], list[str]]:
    """From `dvc plots diff --json`: (changed plots with their specs, unchanged names, errors)."""
    changed, same = [], []
    for name, entries in diff.get("data", {}).items():
        for entry in entries:
            if entry.get("type") != "vega":
                continue
            spec = entry["content"]
            rows = _rows_by_rev(spec)
            new, old = rows.get("workspace"), rows.get(base_label)
            if new is not None and new == old:
                same.append(name)
            else:
                state = "new" if old is None else "removed" if new is None else "changed"
                changed.append({"name": name, "spec": spec, "state": state})
    errors = []
    for error in diff.get("errors", []):
        where = " ".join(str(error[k]) for k in ("name", "rev", "source") if error.get(k))
        errors.append(f"{where}: {error.get('type', 'error')} {error.get('msg', '')}".strip())
    return changed, same, errors


def slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "plot"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def render_png(spec: dict, path: Path) -> None:
    try:
        import vl_convert
    except ImportError:
        raise PipelineError("vl-convert-python is missing: bash scripts/setup.sh") from None
    try:
        png = vl_convert.vegalite_to_png(_finite(spec), scale=2, allowed_base_urls=[])  # no network
    except Exception as exc:  # noqa: BLE001 - vl-convert raises ValueError for a spec it cannot draw
        raise PipelineError(f"could not draw {path.name}: {' '.join(str(exc).split())[:300]}") from None
    path.write_bytes(png)


def _rows(table: str) -> tuple[list[str], list[str]]:
    """A `dvc metrics diff --md` table: (its two header lines, its rows)."""
    lines = [line for line in table.strip().splitlines() if line.strip()]
    return lines[:2], lines[2:]


def _metrics_section(table: str, per_class_table: str = "", cards_table: str = "") -> list[str]:
    """The metrics diff: headline rows first; every averaging and the gap (scores.json), the per-class rows
    (per_class.json) and the data cards (fetch, split, augment) folded away (they are many)."""
    head, rows = _rows(table)
    per_head, per_rows = _rows(per_class_table)
    card_head, card_rows = _rows(cards_table)
    head = head or per_head or card_head
    main = [r for r in rows if ".per_class." not in r]
    per_class = [r for r in rows if ".per_class." in r] + per_rows  # a base from before the split: in metrics.json
    if not (main or per_class or card_rows):
        return ["No metric changed."]
    out = [*head, *main] if main else ["Only the folded scores or data cards changed."]
    if per_class:
        out += ["", f"<details><summary>Every averaging, the gap, per class ({len(per_class)} changed)</summary>", "",
                *head, *per_class, "", "</details>"]
    if card_rows:
        out += ["", f"<details><summary>Data cards: rows, labels, dropped ({len(card_rows)} changed)</summary>", "",
                *head, *card_rows, "", "</details>"]
    return out


def embedded(markdown: str) -> str:
    """A compare report under the report's own `##` heading: its `#` title dropped, other headings moved down."""
    body = re.sub(r"\A# [^\n]*\n+", "", markdown.strip() + "\n")
    return re.sub(r"^(#{1,4}) ", lambda m: "#" * (len(m[1]) + 2) + " ", body, flags=re.M).rstrip()


def compare_section(base: str, commit: str) -> list[str]:
    """What the compare stage decided, against which champion; with no champion, the paired bootstrap
    against the base's model instead (the stage's own "promote: there is no champion yet" says nothing
    about the change under review)."""
    if not (COMPARE_MD.is_file() and COMPARE_JSON.is_file()):
        return [f"`{COMPARE_MD}` is missing: run `dvc repro` first."]
    stage = json.loads(COMPARE_JSON.read_text(encoding="utf-8"))
    if stage.get("champion"):
        return [f"The compare stage judged against the registry's champion, {stage['champion']} "
                f"(`{COMPARE_MD}`):", "", embedded(COMPARE_MD.read_text(encoding="utf-8"))]
    from mlkit.core.params import load_params
    from mlkit.modeling.card import ModelCard
    from mlkit.modeling.champion import Champion
    from mlkit.modeling.comparison import judge
    from mlkit.modeling.metrics import read_predictions

    lines = [f"The registry has no champion (the compare stage's decision, `{stage.get('decision')}`, only says "
             f"so), so the new model is judged against the base's, `{base}` ({commit[:7]}), the same way:", ""]
    try:
        card = ModelCard.read(paths.MODEL)
        test = read_table(paths.split("test"))
        new = read_predictions(paths.PREDICTIONS, card.task)["prediction"].tolist()
        verdict = judge(Champion(commit, f"the base `{base}`"), test, new, card, load_params().compare)
    except PipelineError as exc:
        return lines[:-1] + ["", f"Not possible here: {exc}"]
    return lines + [embedded(verdict.markdown)]


def build(base: str, out: Path) -> Path:
    out = out.resolve()  # against the folder it was run from
    root = dvc_repo.find_root()
    os.chdir(root)
    commit = vcs.resolve_rev(base, "--base")  # a PR's base must be fetched: fetch-depth 0
    head = vcs.head()[:7]
    dirty = vcs.changed_tracked()

    metrics = dvc_repo.metrics_diff_markdown(base)
    per_class = dvc_repo.metrics_diff_markdown(base, [paths.SCORES, paths.PER_CLASS])
    cards = dvc_repo.metrics_diff_markdown(base, [paths.DATA_CARD, paths.SPLIT_STATS, paths.AUGMENT_CARD])
    params = dvc_repo.params_diff_markdown(base).strip()
    diff = json.loads(dvc_repo.plots_diff_json(base) or "{}")
    changed, same, errors = changed_plots(diff, base)

    plots = out / "plots"
    if plots.exists():
        shutil.rmtree(plots)
    plots.mkdir(parents=True)
    taken: set[str] = set()
    for plot in changed:
        plot["file"] = f"plots/{slug(plot['name'], taken)}.png"
        render_png(plot["spec"], out / plot["file"])
    dvc_repo.write_plots_html(base, plots)  # index.html through .dvc/config's offline template

    where = f"`HEAD` ({head}){' with uncommitted changes' if dirty else ''}"
    lines = [f"# Review: workspace against `{base}` ({commit[:7]})", "",
             f"The workspace is {where}; every table compares `{base}` with the workspace.", "",
             "## Metrics", "", *_metrics_section(metrics, per_class, cards), "",
             "## Parameters", "", params or "No parameter changed.", "",
             "## Champion vs challenger", "", *compare_section(base, commit), "",
             "## Plots", ""]
    if not changed:
        lines += ["No plot's data changed.", ""]
    for plot in changed:
        lines += [f"### {plot['name']} ({plot['state']})", "", f"![{plot['name']}]({plot['file']})", ""]
    if same:
        lines += [f"Unchanged: {', '.join(same)}.", ""]
    if errors:
        lines += ["DVC could not read some plots:", "", *(f"- {e}" for e in errors), ""]
    lines += ["All plots, interactive (works offline): `plots/index.html`.", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def comment(folder: Path, link: str) -> str:
    """report.md as a PR comment: the marker first, images as links to `link`, within GitHub's size limit."""
    report = folder / "report.md"
    if not report.is_file():
        raise PipelineError(f"{report}: no report there (mlkit report --base BASE -o {folder})")
    text = report.read_text(encoding="utf-8")
    text = IMAGE.sub(lambda m: f"Image `{m[2]}`: in the [workflow run's `report` artifact]({link}).", text)
    text = text.replace("`plots/index.html`", f"`plots/index.html` in the [`report` artifact]({link})")
    if len(text) > COMMENT_LIMIT:
        cut = text[:COMMENT_LIMIT].rsplit("\n", 1)[0]
        text = cut + f"\n\n(cut here: the full report.md is in the [artifact]({link}).)"
    return f"{MARKER}\n{text}"
