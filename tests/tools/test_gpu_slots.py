"""`mlkit sweep --gpus`: the queue's experiments see MLKIT_GPUS, and each process of a transformer
experiment (train, evaluate) takes a device of its own from it, as its queue log shows. No GPU
is needed to check which CUDA_VISIBLE_DEVICES each one was given."""

from __future__ import annotations

import re
import sys

from mlkit.testing import ROOT, Project, copy_project, dataset

TINY = {"epochs": 1, "batch_size": 16, "max_length": 32, "warmup_ratio": 0.0, "patience": None}


def test_each_parallel_experiment_process_gets_a_device_from_the_pool(tmp_path) -> None:
    project: Project = copy_project(tmp_path / "project")
    (project.path / "params.yaml").write_text((ROOT / "presets" / "emotion_transformer.yaml").read_text())
    project.set_params(
        data={"sources": [{"kind": "file", "path": project.source(dataset("emotion/train.txt")), "format": "lines",
                           "sep": ";"}], "limit": 240},
        model=TINY,
    )
    project.commit("a tiny transformer project")
    done = project.run(sys.executable, "-m", "mlkit", "sweep", "-S", "model.lr=1e-4,2e-4", "-j", "2",
                       "--gpus", "0,1", "--name", "g", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("g-1", "g-2"):
        log = project.dvc("queue", "logs", name).stdout
        claims = re.findall(r"gpu: device (\d) of MLKIT_GPUS=0,1 \(CUDA_VISIBLE_DEVICES=(\d)\)", log)
        assert len(claims) >= 2, log[-3000:]  # train and evaluate each load the transformer (compare: no champion)
        assert all(device == visible and device in "01" for device, visible in claims)
    project.dvc("queue", "stop", check=False)
