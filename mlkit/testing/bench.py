"""What the benchmarks share: a throw-away git copy of the project, dataset paths, timed commands, tables."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from mlkit.testing.commands import ROOT, git
from mlkit.testing.project import copy_tracked

# Our commits must not depend on the machine's git identity (git() sets one too; this is for other git runs).
GIT_ID = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@example.invalid"]
# The datasets beside the repository (../shared), linked beside each copy so presets import them as written.
SHARED = ROOT.parent / "shared"


# What an experiment on a model parameter reruns, run by hand: the baseline DVC's overhead is measured against.
DIRECT = "python -m stages.train && python -m stages.evaluate && python -m stages.compare"


def set_params(project: Path, values: dict[str, Any]) -> None:
    """What `-S section.key=value` does to params.yaml, for a direct run."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in values.items():
        section, name = key.split(".")
        params[section][name] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def load_figures() -> str:
    """The 1, 5 and 15 minute load averages, e.g. `1.10 1.76 2.33`."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def load() -> str:
    return f"load average {load_figures()}"


def env() -> dict[str, str]:
    """This interpreter's bin first on PATH, so `dvc` and `python` resolve to the same venv."""
    bin_dir = str(Path(sys.executable).parent)  # not resolved: a venv's python is a symlink
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def run(cmd: str, cwd: Path) -> float:
    """Run a shell command; return its wall time in seconds, or fail with its output."""
    return run_output(cmd, cwd)[0]


def run_output(cmd: str, cwd: Path) -> tuple[float, str]:
    """Run a shell command; return its wall time in seconds and its stdout, or fail with its output."""
    started = time.perf_counter()
    done = subprocess.run(cmd, shell=True, cwd=cwd, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"`{cmd}` failed ({done.returncode}) in {cwd}:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def exp_run_from_commit(project: Path, overrides: Sequence[str]) -> tuple[float, str]:
    """`dvc exp run -S ...` on the last commit's params (an experiment leaves its own in the workspace, so
    they are checked out first); its seconds and log."""
    git("checkout", "--", "params.yaml", "dvc.lock", cwd=project)
    return run_output(" ".join(["dvc exp run", *(f"-S '{s}'" for s in overrides)]), project)


def train_timings(log: str) -> dict[str, float]:
    """The `train: timings {...}` line the train stage prints (timings go to the log, not to its outputs)."""
    import json

    found = re.findall(r"^train: timings (\{.*\})$", log, flags=re.MULTILINE)
    if not found:
        raise RuntimeError(f"no `train: timings` line in the log:\n{log}")
    return json.loads(found[-1])


def import_sources(project: Path) -> None:
    """`mlkit import`: what params.yaml names with `import_url` (fetch reads only data/sources/)."""
    run(f"{sys.executable} -m mlkit import", project)


def commit(project: Path, message: str) -> None:
    git("add", "-A", cwd=project)
    git(*GIT_ID, "commit", "-q", "--allow-empty", "-m", message, cwd=project)


@contextmanager
def project_copy() -> Iterator[Path]:
    """A committed copy of the project (see copy_tracked); deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="mlkit-bench-") as tmp:
        project = Path(tmp) / "project"
        if SHARED.is_dir():
            (Path(tmp) / "shared").symlink_to(SHARED, target_is_directory=True)
        copy_tracked(project)
        config = (project / ".dvc/config").read_text(encoding="utf-8")
        assert re.search(r"analytics\s*=\s*false", config), ".dvc/config must set core.analytics = false"
        git("init", "-q", cwd=project)
        import_sources(project)
        commit(project, "benchmark copy")
        yield project


def cells(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    """A table's cells as text: floats to 4 places, None as '-'."""
    return [[("-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)) for v in row] for row in rows]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table (cells as `cells` writes them)."""
    text = cells(rows)
    widths = [max(len(str(h)), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(str(v).rjust(w) for v, w in zip(values, widths))  # noqa: E731
    return "\n".join([line(headers), line("-" * w for w in widths), *map(line, text)])


# Each study's result as data: the docs include these files, so no figure lives only in prose.
RESULTS = ROOT / "docs" / "studies" / "results"


def machine() -> dict[str, Any]:
    """Where a figure was measured: enough to tell two runs' machines and loads apart."""
    import platform

    return {"machine": platform.machine(), "processor": _cpu_model(), "cores": os.cpu_count(),
            "load": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # Linux; platform.processor() is often empty
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def record(name: str, numbers: dict[str, Any], headers: Sequence[str], rows: Sequence[Sequence[object]],
           *, note: str = "", more: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]] = (),
           folder: Path | None = None) -> Path:
    """Write a study's result: NAME.json (machine, cores, load, date, commit and the numbers) and NAME.md
    (`note`, what was measured, above the table; then each of `more`, (note, headers, rows), a table of its
    own; and one line saying where and when), which the study's page includes. Returns the JSON's path."""
    import datetime
    import json

    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    commit = git("rev-parse", "HEAD", cwd=ROOT, check=False).stdout.strip() or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", cwd=ROOT, check=False).stdout.strip())
    result = {"benchmark": name, "command": f"python -m benchmarks {name}",
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "commit": commit + ("+changes" if dirty else ""), **machine(), "numbers": numbers}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    where = (f"`{result['command']}`: {result['cores']} cores ({result['processor']}), load "
             f"{' '.join(str(x) for x in result['load'])}, {result['date'][:10]}, commit {result['commit'][:12]}")
    parts = [f"{text}\n\n{markdown_table(heads, body)}" if text else markdown_table(heads, body)
             for text, heads, body in [(note, headers, rows), *more]]
    (folder / f"{name}.md").write_text("\n\n".join([*parts, f"<small>{where}</small>\n"]), encoding="utf-8")
    return path


def plot(name: str, series: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float] | None]], *,
         x_label: str, y_label: str, title: str, logx: bool = False, ylim: tuple[float, float] | None = None,
         folder: Path | None = None) -> Path:
    """Write NAME.svg beside the study's NAME.json: one line per series, label -> (x, y, spread or None, drawn
    as error bars), for a page to show as `![...](results/NAME.svg)`. Returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    # The same figure gives the same file: ids seeded by the name, no creation date.
    with plt.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for label, (x, y, spread) in series.items():
            ax.errorbar(list(x), list(y), yerr=None if spread is None else list(spread), marker="o", capsize=3,
                        label=label)
        if logx:
            ax.set_xscale("log")
        if ylim:
            ax.set_ylim(*ylim)
        ax.set(xlabel=x_label, ylabel=y_label, title=title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = folder / f"{name}.svg"
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (cells as `cells` writes them)."""
    return "\n".join(["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers),
                      *("| " + " | ".join(r) + " |" for r in cells(rows))])


def test_score(project: Path, metric: str) -> tuple[float, float, float]:
    """The test metric of the project's last run and its 95% bootstrap interval, from its test predictions."""
    import json

    from mlkit.modeling.metrics import bootstrap_interval, read_predictions, score, targets

    card = json.loads((project / "models/model/card.json").read_text())
    frame = read_predictions(project / "metrics/eval/predictions.csv", card["task"])
    truth, guess = (targets(frame[c], card["task"], card["labels"]) for c in ("label", "prediction"))
    of_rows = lambda rows: score(metric, truth[rows], guess[rows], card["labels"], card["positive_label"])  # noqa: E731
    low, high = bootstrap_interval(of_rows, len(frame))
    return of_rows(slice(None)), low, high
