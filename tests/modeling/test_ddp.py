"""Data-parallel fine-tuning: the train stage launching itself through torchrun, 2 gloo processes on CPU.

The 2-process run must train the model a 1-process run trains. Both draw model.batch_size rows a step in the
same seeded order (the sampler's own generator); the 2 processes take 8 rows each and DDP averages their
gradients, which is the 16-row step's gradient up to float rounding (the order of the sums). The checkpoint
is MiniLM cut to 2 layers with dropout off: with dropout, each process draws its own masks and the runs
differ as two dropout seeds would. The train split holds a multiple of the batch, so no epoch ends in a
partial batch (accelerate fills one up with rows of the epoch's first batch, so that every process steps).
What is left is float rounding: test probabilities within 1e-3, test metrics equal up to one flipped row
(`pytest -s` prints the largest difference).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlkit.core.errors import PipelineError
from mlkit.core.params import DEFAULT_CHECKPOINT, TrainParams, read_yaml, validate
from mlkit.modeling import distributed
from mlkit.testing import ROOT, Project, copy_project, dataset

BATCH = 16
TOLERANCE = 1e-3  # test probabilities, 1 vs 2 processes: float rounding only


def tiny_checkpoint(folder: Path) -> str:
    """all-MiniLM-L6-v2's first 2 layers, dropout off: a real pretrained encoder, a third of the compute."""
    from transformers import AutoModel, AutoTokenizer

    from mlkit.core.hub import resolve_checkpoint

    source, _ = resolve_checkpoint(DEFAULT_CHECKPOINT, "checkpoint")
    AutoModel.from_pretrained(source, num_hidden_layers=2, hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


def outputs(project: Project) -> dict:
    """What the run wrote, and its model's test probabilities and test metrics."""
    from sklearn.metrics import accuracy_score, f1_score

    from mlkit.modeling.base import load_model

    model = project.file("models/model")
    test = pd.read_parquet(project.file("data/split/test.parquet"))
    loaded = load_model(model)
    scores = loaded.scores(test)
    guess = [loaded.labels[j] for j in scores.argmax(axis=1)]
    return {"files": sorted(p.name for p in model.iterdir()),
            "metrics": {"accuracy": accuracy_score(test["label"], guess),
                        "f1_macro": f1_score(test["label"], guess, average="macro")},
            "predicted": set(guess), "scores": scores,
            "card": json.loads((model / "card.json").read_text()),
            "curves": json.loads(project.file("metrics/train/metrics.json").read_text()),
            "lock": yaml.safe_load(project.file("dvc.lock").read_text())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict, dict, str]:
    """The same fine-tuning through `dvc repro`, on 1 process and then on 2."""
    root = tmp_path_factory.mktemp("ddp")
    project = copy_project(root / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    project.set_params(
        # 320 texts: 224 train rows, 14 steps of 16 an epoch
        data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")), "format": "lines",
                           "sep": ";"}], "limit": 320},
        model={"checkpoint": tiny_checkpoint(root / "tiny"), "epochs": 2, "batch_size": BATCH, "max_length": 32,
               "lr": 1e-3, "patience": None, "class_weight": "balanced"},
    )
    project.commit("ddp project")
    project.dvc("repro", "train")
    assert len(pd.read_parquet(project.file("data/augmented/train.parquet"))) % BATCH == 0
    one = outputs(project)
    project.set_params(train={"processes": 2})
    result = project.dvc("repro", "train")
    return project, one, outputs(project), result.stdout


def test_two_processes_train_what_one_trains(runs: tuple[Project, dict, dict, str]) -> None:
    project, one, two, log = runs
    assert "train: data-parallel over 2 processes" in log
    assert log.count("train: transformer (") == 1  # rank 0 speaks, once
    # One model, its card and curves, as a 1-process run writes them; the lock has the same shape.
    assert two["files"] == one["files"]
    assert two["card"]["environment"]["processes"] == 2 and one["card"]["environment"]["processes"] == 1
    assert two["curves"].keys() == one["curves"].keys()
    assert two["lock"]["stages"]["train"].keys() == one["lock"]["stages"]["train"].keys()
    assert two["lock"]["stages"]["train"]["params"]["params.yaml"]["train"] == {"processes": 2, "nodes": 1}
    assert not list(project.path.glob("models/.model.*"))  # no scratch folder left
    # The same model, up to float rounding: probabilities and the test metrics.
    difference = np.abs(two["scores"] - one["scores"]).max()
    print(f"largest difference of a test probability, 1 vs 2 processes: {difference:.2e}")
    assert difference < TOLERANCE
    rows = len(one["scores"])
    for metric, value in one["metrics"].items():
        assert two["metrics"][metric] == pytest.approx(value, abs=1 / rows), metric
    # It learnt more than one label: two models that always say the majority label would match trivially.
    assert len(one["predicted"]) >= 2, one["metrics"]


def test_a_failing_process_ends_in_one_line_and_keeps_the_model(runs: tuple[Project, dict, dict, str]) -> None:
    project, *_ = runs
    before = project.file("models/model/model.safetensors").read_bytes()
    saved = project.params()
    project.set_params(model={"checkpoint": "no-such-org/no-such-model-xyz"})
    try:
        result = project.stage("train")
    finally:
        (project.path / "params.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: train: process 0 of 2: params.yaml: model.checkpoint: ")
    assert "no-such-org/no-such-model-xyz" in lines[0] and "logs are in" in lines[0]
    assert project.file("models/model/model.safetensors").read_bytes() == before
    assert not list(project.path.glob("models/.model.*"))


# ---------------------------------------------------------------- checked before any process starts
@pytest.mark.fast
def test_a_scikit_learn_model_refuses_processes() -> None:
    raw = read_yaml(ROOT / "params.yaml")
    raw["train"] = {"processes": 2}
    with pytest.raises(PipelineError) as caught:
        validate(raw)
    assert str(caught.value) == ("params.yaml: train.processes: 2 x train.nodes: 1 runs data-parallel fine-tuning, "
                                 "which model.type svc does not do (model.type transformer does); set both to 1")


@pytest.mark.fast
def test_the_global_batch_must_split_evenly() -> None:
    raw = read_yaml(ROOT / "presets" / "emotion_transformer.yaml")
    raw["train"] = {"processes": 3, "nodes": 1}
    with pytest.raises(PipelineError, match=r"model.batch_size: 32 is the global batch, split evenly over "
                       r"train.processes: 3 x train.nodes: 1 = 3 processes; make it a multiple of 3"):
        validate(raw)
    raw["train"] = {"processes": 4, "nodes": 2}
    assert validate(raw).train.world == 8


@pytest.mark.fast
def test_several_machines_meet_at_the_master(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASTER_ADDR", "MASTER_PORT", *distributed.NODE_RANK_ENVS):
        monkeypatch.delenv(name, raising=False)
    train = TrainParams(processes=4, nodes=2)
    with pytest.raises(PipelineError, match="set MASTER_ADDR"):
        distributed.torchrun_args(train)
    monkeypatch.setenv("MASTER_ADDR", "node-a")
    with pytest.raises(PipelineError, match="set NODE_RANK"):
        distributed.torchrun_args(train)
    monkeypatch.setenv("SLURM_NODEID", "1")
    assert distributed.torchrun_args(train) == [
        "--nnodes", "2", "--nproc-per-node", "4", "--max-restarts", "0", "--node-rank", "1",
        "--master-addr", "node-a", "--master-port", "29500"]
    monkeypatch.setenv("NODE_RANK", "2")
    with pytest.raises(PipelineError, match="NODE_RANK '2': expected a machine rank from 0 to 1"):
        distributed.torchrun_args(train)
    assert distributed.torchrun_args(TrainParams(processes=2))[:1] == ["--standalone"]


@pytest.mark.fast
def test_torchrun_around_the_stage_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(distributed.OUTPUTS_ENV, raising=False)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    with pytest.raises(PipelineError, match="launches torchrun itself"):
        distributed.current()


@pytest.mark.fast
def test_what_ended_a_failed_run(tmp_path: Path) -> None:
    """The first process's error line, else a traceback's last line, else torchrun's summary."""
    ranks = tmp_path / "ranks" / "run_x" / "attempt_0"
    (tmp_path / "torchrun.log").write_text("  exitcode  : -9 (pid: 12)\n")
    for rank in (0, 1):
        (ranks / str(rank)).mkdir(parents=True)
        (ranks / str(rank) / "stderr.log").write_text("")
    assert distributed.failure(tmp_path, 2) == "a process failed: exitcode  : -9 (pid: 12)"
    (ranks / "1" / "stderr.log").write_text("Traceback (most recent call last):\n  ...\nRuntimeError: boom\n")
    assert distributed.failure(tmp_path, 2) == "process 1 of 2 failed: RuntimeError: boom"
    (ranks / "1" / "stderr.log").write_text("warning: x\nerror: data/split/valid.parquet: no such file"
                                            " (the last good outputs are in DVC's cache: `dvc checkout` restores them)\n")
    assert distributed.failure(tmp_path, 2) == "process 1 of 2: data/split/valid.parquet: no such file"


@pytest.mark.fast
def test_the_templates_launch_the_train_stage_on_every_node() -> None:
    """SLURM: one task per node, node 0 under dvc repro, NODE_RANK from SLURM_NODEID; Kubernetes: an indexed
    Job whose index is the node rank, pod 0 named by a headless Service; no secret inline in either."""
    sbatch = (ROOT / "deploy/slurm/finetune.sbatch").read_text()
    assert "#SBATCH --ntasks-per-node=1" in sbatch and "export NODE_RANK=$SLURM_NODEID" in sbatch
    assert "exec dvc repro; else exec python -m stages.train" in sbatch and "MASTER_ADDR=" in sbatch
    service, job = yaml.safe_load_all((ROOT / "deploy/k8s/finetune.yaml").read_text())
    assert service["kind"] == "Service" and service["spec"]["clusterIP"] == "None"
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    assert spec["template"]["spec"]["subdomain"] == service["metadata"]["name"]
    container = spec["template"]["spec"]["containers"][0]
    script = container["args"][0]
    assert "NODE_RANK=$JOB_COMPLETION_INDEX" in script and "python -m stages.train" in script
    env = {e["name"]: e for e in container["env"]}
    assert env["MASTER_ADDR"]["value"].startswith(f"{job['metadata']['name']}-0.{service['metadata']['name']}")
    for name in ("MLKIT_GIT_REMOTE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert "secretKeyRef" in env[name]["valueFrom"], name
    for text in (sbatch, yaml.safe_dump(job)):
        assert not re.search(r"(?i)(password|secret_access_key|token)\s*[=:]\s*['\"]?[A-Za-z0-9/+]{8,}", text)
