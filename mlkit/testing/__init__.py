"""Support shared by the tests (tests/) and the benchmarks (benchmarks/): project copies in temporary git
repositories, the git and dvc commands run on them, real S3 and PostgreSQL servers, a headless browser.

Only tests and benchmarks import this package: no other layer of mlkit does (tests/test_layout.py and the
import-linter contracts in pyproject.toml hold that). It works from a source checkout (ROOT is the checkout).
"""

from mlkit.testing.commands import ENV, ROOT, dvc, git, run
from mlkit.testing.project import (
    BINARY,
    DATASETS,
    MULTICLASS,
    Project,
    committed,
    copy_project,
    copy_tracked,
    dataset,
    digits_project,
    emotion_project,
    stage,
    trial_accuracies,
    workspace,
)

__all__ = ["BINARY", "DATASETS", "ENV", "MULTICLASS", "ROOT", "Project", "committed", "copy_project", "copy_tracked",
           "dataset", "digits_project", "dvc", "emotion_project", "git", "run", "stage", "trial_accuracies",
           "workspace"]
