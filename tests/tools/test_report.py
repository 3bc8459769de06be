"""mlkit report: the review report of a branch against its base, in a temporary project."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from mlkit.testing import ENV, ROOT, Project
from mlkit.testing.browser import CHROMIUM, rendered
from mlkit.tools.report import MARKER, changed_plots, comment

PNG = b"\x89PNG\r\n\x1a\n"


def report(project: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return project.run(sys.executable, "-m", "mlkit", "report", *args, check=check)


def dvc_number(value: float) -> str:
    """A metric as `dvc metrics diff --md` prints it (5 decimals, trailing zeros dropped)."""
    return str(round(value, 5))


def test_report_of_a_branch_against_main(project: Project) -> None:
    project.dvc("repro")
    project.commit("baseline run")  # on main
    before = json.loads(project.file("metrics/eval/metrics.json").read_text())
    project.git("checkout", "-q", "-b", "lower-c")
    project.set_params(model={"C": 0.05})
    project.dvc("repro")
    project.commit("C 0.05")
    after = json.loads(project.file("metrics/eval/metrics.json").read_text())
    assert before["test"]["f1_macro"] != after["test"]["f1_macro"]

    done = report(project, "--base", "main", "-o", "report")
    assert done.stdout.strip().endswith("report/report.md")
    text = project.file("report/report.md").read_text()

    # The changed metric with both values (dvc metrics diff --md main), and the changed param.
    row = rf"\|\s*metrics/eval/metrics.json\s*\|\s*test\.f1_macro\s*\|\s*{re.escape(dvc_number(before['test']['f1_macro']))}" \
          rf"\s*\|\s*{re.escape(dvc_number(after['test']['f1_macro']))}\s*\|"
    assert re.search(row, text), text[:3000]
    assert re.search(r"\|\s*params.yaml\s*\|\s*model\.C\s*\|\s*0\.5\s*\|\s*0\.05\s*\|", text)
    # No champion in the registry: the verdict is against main's model (the stage's "promote: no champion yet"
    # says nothing about this change), in the report's own heading levels. C=0.05 is clearly worse here.
    section = text.split("## Champion vs challenger\n", 1)[1].split("\n## ", 1)[0]
    assert "The registry has no champion" in section and "judged against the base's, `main`" in section
    assert "**Decision: keep.** The new model is worse" in section, section
    assert f"champion {before['test']['f1_macro']:.4f}, new {after['test']['f1_macro']:.4f}" in section
    assert not re.search(r"^#{1,2} ", section, flags=re.M)  # the embedded title is gone, no heading above ###

    # Images of the plots whose data changed; every one a real PNG, embedded in report.md.
    images = sorted(project.file("report/plots").glob("*.png"))
    assert len(images) >= 2 and len(images) == text.count("](plots/")  # C moved the test plots (4 here)
    for image in images:
        data = image.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, image
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # IHDR
        assert width > 200 and height > 200, (image, width, height)
        assert f"](plots/{image.name})" in text
    index = project.file("report/plots/index.html")
    assert "main" in index.read_text() and "cdn.jsdelivr" not in index.read_text()
    if CHROMIUM:  # the offline page draws every plot with no network
        verdict = rendered(index)
        assert verdict and not any(verdict.values()), verdict

    # The PR comment body: one marker, images turned into links to the run's artifact.
    body = report(project, "--comment", "report", "--link", "https://github.com/o/r/actions/runs/1").stdout
    assert body.startswith(MARKER) and "![" not in body
    assert "(https://github.com/o/r/actions/runs/1)" in body and "test.f1_macro" in body


def test_report_errors_are_one_line(project: Project, tmp_path) -> None:
    missing = report(project, "--base", "no-such-branch", check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: --base: no git revision 'no-such-branch' in this repository")

    outside = tmp_path / "not-a-project"
    outside.mkdir()
    done = subprocess.run([sys.executable, "-m", "mlkit", "report", "--base", "main"], cwd=outside,
                          env={**ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "not in a DVC project" in done.stderr and done.stderr.count("\n") == 1

    no_report = report(project, "--comment", "nowhere", "--link", "x", check=False)
    assert no_report.returncode == 1 and "error: nowhere/report.md: no report there" in no_report.stderr


def test_changed_plots_compares_each_plots_data_between_revisions() -> None:
    def entry(*rows):
        return [{"type": "vega", "revisions": ["workspace", "origin/main"], "content": {"data": {"values": list(rows)}}}]

    diff = {"data": {
        "same": entry({"x": 1, "rev": "workspace"}, {"x": 1, "rev": "origin/main"}),
        "moved": entry({"x": 2, "rev": "workspace"}, {"x": 1, "rev": "origin/main"}),
        "new": entry({"x": 1, "rev": "workspace"}),
    }, "errors": [{"name": "gone", "rev": "origin/main", "type": "FileNotFoundError", "msg": "missing"}]}
    changed, same, errors = changed_plots(diff, "origin/main")
    assert [(c["name"], c["state"]) for c in changed] == [("moved", "changed"), ("new", "new")]
    assert same == ["same"] and errors == ["gone origin/main: FileNotFoundError missing"]


def test_comment_stays_within_githubs_limit(tmp_path) -> None:
    (tmp_path / "report.md").write_text("| row |\n" * 20_000)
    body = comment(tmp_path, "https://example.invalid/run")
    assert len(body) < 65_536 and body.rstrip().endswith("(https://example.invalid/run).)")

