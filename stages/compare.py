"""compare: the new metrics against a baseline revision's -> metrics/compare.{json,md}."""

import json

import dvc.api
from dvc.exceptions import DvcException
from scmrepo.exceptions import SCMError

from mlkit.errors import run_main
from mlkit.io import read_json, replacing, write_json
from mlkit.params import load_params

METRICS = "metrics/eval/metrics.json"
OUT_JSON = "metrics/compare.json"
OUT_MD = "metrics/compare.md"
ROWS = [(split, name) for split in ("test", "valid") for name in ("accuracy", "f1", "f1_macro", "f1_weighted", "f1_micro")]
ROWS += [("gap", "accuracy"), ("gap", "f1_macro")]


def read_baseline(rev: str) -> tuple[dict | None, str]:
    """The baseline's metrics through DVC (git or DVC cache at `rev`), or None and why not."""
    try:
        return json.loads(dvc.api.read(METRICS, rev=rev)), ""
    except (DvcException, SCMError, FileNotFoundError) as exc:
        return None, " ".join(str(exc).split()) or type(exc).__name__


def main() -> None:
    params = load_params().compare
    current = read_json(METRICS)
    baseline, why = read_baseline(params.baseline)
    rows = []
    for split, name in ROWS:
        if name not in current.get(split, {}):
            continue
        new = current[split][name]
        old = baseline.get(split, {}).get(name) if baseline else None
        rows.append({"metric": f"{split}.{name}", "baseline": old, "new": new,
                     "change": None if old is None else new - old})
    primary = f"test.{params.metric}"
    found = next((r for r in rows if r["metric"] == primary), None)
    summary = {
        "baseline_rev": params.baseline,
        "baseline_found": baseline is not None,
        "metric": primary,
        "new": found["new"] if found else None,
        "change": found["change"] if found else None,
    }
    lines = [f"# Model comparison: workspace vs `{params.baseline}`", ""]
    if baseline is None:
        lines += [f"No baseline yet: `{METRICS}` could not be read at `{params.baseline}` ({why}).",
                  "Commit this run (`git add`, `git commit`, `dvc push`) and it becomes the next baseline.", ""]
    elif found is not None and found["change"] is not None:
        lines += [f"Primary metric `{primary}`: {found['baseline']:.4f} -> {found['new']:.4f} "
                  f"({found['change']:+.4f}).", ""]
    lines += ["| metric | baseline | new | change |", "|---|---:|---:|---:|"]
    fmt = lambda v, sign="": "—" if v is None else f"{v:{sign}.4f}"  # noqa: E731
    for row in rows:
        name = f"**{row['metric']}**" if row["metric"] == primary else row["metric"]
        lines.append(f"| {name} | {fmt(row['baseline'])} | {fmt(row['new'])} | {fmt(row['change'], '+')} |")
    with replacing(OUT_MD) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_json(OUT_JSON, summary)
    print("\n".join(lines))


if __name__ == "__main__":
    run_main(main)
