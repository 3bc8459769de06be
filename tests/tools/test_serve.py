"""`mlkit serve` as a client meets it: a real uvicorn server on 127.0.0.1 and a real httpx client. Answers in
input order and as `mlkit predict` gives them, every refused request one 4xx `{"error": ...}`, concurrent
clients each get their own answers, start-up problems one `error:` line, and the registry's model served from
a bare git remote and an S3 server alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from mlkit.testing import ENV, ROOT, dvc, git
from mlkit.testing.s3server import KEY, SECRET, S3Server
from mlkit.testing.serving import Server, multiclass_model

# Two text columns, joined with " | " as training joined them: the served model must join them alike.
COLUMNS = {"text_column": ["title", "body"], "label_column": "label", "label_columns": None,
           "text_column_delimiter": " | "}
LIMITS = ("--max-texts", "8", "--max-chars", "200")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}


def train(folder: Path) -> Path:
    """The default scikit-learn model (params.yaml as committed) on 90 rows whose words give the label away."""
    return multiclass_model(folder, [f"note {i} | says {'abc'[i % 3]}word" for i in range(90)], COLUMNS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("serve")
    train(project / "models/model")
    return project


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Server]:
    """The default folder served with small limits and a 20 ms batching window (concurrent requests meet)."""
    served = Server(folder, *LIMITS, "--batch-window-ms", "20")
    yield served
    log = served.stop()
    assert "Traceback" not in log, log  # no request, good or bad, ever logs one


def test_predict_answers_in_input_order_as_mlkit_predict_does(server: Server, folder: Path) -> None:
    rows = [("note 7", "says bword"), ("", "cword only"), ("an aword title", ""), ("x", "says   cword\tnow")]
    pd.DataFrame(rows, columns=["title", "body"]).to_csv(folder / "in.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "mlkit", "predict", "in.csv", "--output", "out.csv", "--force"],
                          cwd=folder, env={**ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = list(pd.read_csv(folder / "out.csv")["prediction"])
    assert expected == ["b", "c", "a", "c"]

    texts = [{"title": t, "body": b} for t, b in rows]
    answer = server.client.post("/predict", json={"texts": texts})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["labels"] == expected
    assert [max(s, key=s.get) for s in body["scores"]] == expected  # a score per label, the chosen one highest
    assert all(set(s) == {"a", "b", "c"} for s in body["scores"])
    # A plain string is the text as the model reads it: the columns joined, whitespace normalised.
    joined = server.client.post("/predict", json={"texts": ["note 7 | says bword", "cword only"]}).json()
    assert joined["labels"] == expected[:2] and joined["scores"] == body["scores"][:2]


def test_health_and_metadata(server: Server, folder: Path) -> None:
    health = server.client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    meta = server.client.get("/metadata").json()
    assert meta["task"] == "multiclass" and meta["labels"] == ["a", "b", "c"]
    assert meta["text_columns"] == ["title", "body"] and meta["version"] is None
    assert meta["card"] == json.loads((folder / "models/model/card.json").read_text())


@pytest.mark.parametrize(("body", "status", "expected"), [
    (b'{"texts": ["a"', 400, "malformed JSON"),
    (b"\xff\xfe", 400, "malformed JSON"),
    (b'["a"]', 422, "the body must be a JSON object"),
    (b'{"text": ["a"]}', 422, "texts: missing"),
    (b'{"texts": ["a"], "top": 1}', 422, "unknown field 'top'"),
    (b'{"texts": "a"}', 422, "texts: Input should be a valid list"),
    (b'{"texts": []}', 422, "texts: give at least one text"),
    (b'{"texts": ["a", 3]}', 422, "texts[1]: must be a string, or an object of the model's text columns "
     "(title, body)"),
    (b'{"texts": [{"title": "a", "summary": "b"}]}', 422, "texts[0]: no text column 'summary'"),
    (json.dumps({"texts": ["a"] * 9}).encode(), 413, "texts: 9 texts, more than the 8 a request may hold"),
    (json.dumps({"texts": ["a", "b" * 201]}).encode(), 413, "texts[1]: 201 characters, more than the 200"),
    (json.dumps({"texts": [{"title": "t" * 150, "body": "b" * 51}]}).encode(), 413, "texts[0]: 201 characters"),
])
def test_a_bad_request_is_one_message_with_its_4xx(server: Server, body: bytes, status: int, expected: str) -> None:
    answer = server.client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert list(answer.json()) == ["error"] and expected in answer.json()["error"], answer.text


def test_wrong_path_and_method_are_json_errors_too(server: Server) -> None:
    for answer, status in ((server.client.get("/predict"), 405), (server.client.get("/score"), 404)):
        assert answer.status_code == status and "the endpoints are POST /predict" in answer.json()["error"]


def test_concurrent_clients_each_get_their_own_answers(server: Server) -> None:
    """32 clients at once, each with its own texts: the batches that mix them must hand each its own rows."""
    requests = [[f"says {'abc'[(i + j) % 3]}word {i}" for j in range(1 + i % 4)] for i in range(32)]
    alone = [server.client.post("/predict", json={"texts": texts}).json() for texts in requests[:4]]
    before = server.client.get("/health").json()["batches"]

    def ask(texts: list[str]) -> dict:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answer = client.post("/predict", json={"texts": texts})
            assert answer.status_code == 200, answer.text
            return answer.json()

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(ask, requests))
    for i, (texts, answer) in enumerate(zip(requests, answers)):
        assert answer["labels"] == ["abc"[(i + j) % 3] for j in range(len(texts))], (i, answer)
    assert answers[:4] == alone  # batched or not, the same answer
    batches = server.client.get("/health").json()["batches"] - before
    assert batches < len(requests)  # requests shared model calls


@pytest.mark.fast
def test_help_loads_no_web_framework() -> None:
    probe = ("import sys\nfrom mlkit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "LOADED []" in done.stdout and "\n  serve " in done.stdout, done.stdout[-300:]


def start_fails(cwd: Path, *args: str, code: int = 1, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "mlkit", "serve", *args], cwd=cwd, capture_output=True, text=True,
                          env={**ENV, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_bad_model_or_port_is_one_error_line_at_start(server: Server, folder: Path, tmp_path: Path) -> None:
    assert "nowhere: no saved model here" in start_fails(folder, "--model", "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(folder / "models/model", broken)
    (broken / "model.skops").write_bytes(b"not a zip")
    assert "model.skops: not a readable skops file" in start_fails(folder, "--model", str(broken))
    port = server.url.rsplit(":", 1)[1]
    assert f"--port {port}: cannot listen there" in start_fails(folder, "--port", port)
    assert "--model, --stage: give one" in start_fails(folder, "--model", "m", "--stage", "prod", code=2)


# ---------------------------------------------------------------- the registry's model, from the remotes
@pytest.fixture(scope="module")
def remotes(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, S3Server]]:
    """A project whose model is DVC-tracked, pushed to S3, registered as v1.2.0 and assigned `prod`, its
    commits and tags pushed to a bare git remote; then the project is deleted: only the remotes hold it."""
    base = tmp_path_factory.mktemp("remotes")
    s3 = S3Server(base / "s3")
    s3.bucket("dvc")  # before start: rclone caches the top-level listing
    s3.start()
    repo = base / "project"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    dvc("init", "-q", cwd=repo)
    shutil.copytree(folder / "models/model", repo / "models/model")
    (repo / "metrics/eval").mkdir(parents=True)
    (repo / "metrics/eval/metrics.json").write_text('{"test": {"accuracy": 0.97}}\n')
    (repo / "dvc.yaml").write_text("artifacts:\n  text-classifier:\n    path: models/model\n    type: model\n")
    dvc("add", "-q", "models/model", cwd=repo)
    dvc("remote", "add", "-d", "storage", "s3://dvc/store", cwd=repo)
    dvc("remote", "modify", "storage", "endpointurl", s3.endpoint, cwd=repo)
    dvc("push", "-q", cwd=repo, env=CREDENTIALS)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "model", cwd=repo)
    git("tag", "-a", "text-classifier@v1.2.0", "-m", "register", cwd=repo)  # GTO's tags, as gto makes them
    git("tag", "-a", "text-classifier#prod#1", "-m", "assign", cwd=repo)
    origin = base / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=base)
    git("push", "-q", str(origin), "main", "--tags", cwd=repo)
    shutil.rmtree(repo)  # no clone, no DVC cache left anywhere: the server must read the remotes
    yield origin, s3
    s3.stop()


def test_the_stage_is_served_from_the_git_and_dvc_remotes(remotes: tuple[Path, S3Server], tmp_path: Path) -> None:
    origin, _ = remotes
    served = Server(tmp_path, "--stage", "prod", "--repo", str(origin), env=CREDENTIALS)
    try:
        meta = served.client.get("/metadata").json()
        assert (meta["version"], meta["stage"], meta["source"]) == ("v1.2.0", "prod", str(origin))
        assert meta["commit"] == git("rev-parse", "main", cwd=origin).stdout.strip()
        assert meta["metrics"] == {"test": {"accuracy": 0.97}}
        answer = served.client.post("/predict", json={"texts": [{"title": "x", "body": "says cword"}]})
        assert answer.json()["labels"] == ["c"]
    finally:
        assert "Traceback" not in served.stop()


def test_registry_problems_are_one_error_line(remotes: tuple[Path, S3Server], tmp_path: Path) -> None:
    origin, _ = remotes
    line = start_fails(tmp_path, "--version", "v9.9.9", "--repo", str(origin))
    assert line == f"error: --version v9.9.9: no such version of `text-classifier` at {origin} (versions: v1.2.0)"
    line = start_fails(tmp_path, "--stage", "staging", "--repo", str(origin))
    assert "--stage staging: no version of `text-classifier` is in stage `staging`" in line
    wrong = {**CREDENTIALS, "AWS_SECRET_ACCESS_KEY": "wrong"}
    line = start_fails(tmp_path, "--version", "v1.2.0", "--repo", str(origin), env=wrong)
    assert "`text-classifier` v1.2.0" in line and "cannot read models/model from the DVC remote" in line


# ---------------------------------------------------------------- deployment files
@pytest.mark.fast
def test_the_kubernetes_template_serves_the_stage_with_health_probes_and_no_inline_secret() -> None:
    deployment, service = yaml.safe_load_all((ROOT / "deploy/serve/k8s.yaml").read_text())
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["mlkit", "serve"] and "--stage=prod" in container["args"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health", probe
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    secret_like = [e["name"] for e in container["env"] if "value" in e and re.search("KEY|SECRET|REMOTE", e["name"])]
    assert secret_like == [] and {"AWS_SECRET_ACCESS_KEY", "MLKIT_GIT_REMOTE"} <= {
        e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    dockerfile = (ROOT / "deploy/serve/Dockerfile").read_text()
    assert "mlkit serve" in dockerfile and "AWS_SECRET_ACCESS_KEY=" not in dockerfile
