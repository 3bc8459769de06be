"""What DVC costs on top of the stage scripts: `dvc exp run` vs the same scripts run by hand.

    python -m benchmarks exp_overhead

Works in a temporary committed copy of the project on the default params; the working tree is untouched.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from pathlib import Path

from mlkit.testing import git
from mlkit.testing.bench import DIRECT, commit, project_copy, run, set_params, table

VALUES = (0.3, 0.7, 1.5)  # model.C, each new, so train (and what follows it) really reruns every time
NOOP_RUNS = 5
def row(name: str, exp: float, direct: float) -> list[str]:
    return [name, f"{exp:.2f}", f"{direct:.2f}", f"{exp / direct:.2f}"]


def main() -> None:
    print(f"command: python {' '.join(sys.argv)} (cwd {Path.cwd()})")
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, {platform.platform()}, "
          f"python {platform.python_version()}")
    with project_copy() as project:
        # The first repro in a fresh copy, with an empty cache, is the from-scratch run (and the warm-up).
        scratch = run("dvc repro", project)
        commit(project, "default params: dvc.lock")
        noop = [run("dvc repro", project) for _ in range(NOOP_RUNS)]

        rows: list[list[str]] = []
        exp_times: list[float] = []
        direct_times: list[float] = []
        for c in VALUES:  # alternate (a) and (b), so drift in the machine hits both alike
            git("checkout", "-q", "--", "params.yaml", "dvc.lock", cwd=project)
            exp_times.append(run(f"dvc exp run -S model.C={c}", project))
            set_params(project, {"model.C": c})
            direct_times.append(run(DIRECT, project))
            rows.append(row(f"C={c}", exp_times[-1], direct_times[-1]))
        exp_med, direct_med = statistics.median(exp_times), statistics.median(direct_times)
        rows.append(row("median", exp_med, direct_med))

    print(f"\n(a) dvc exp run -S model.C=C\n(b) set model.C in params.yaml; {DIRECT}\n")
    print(table(["run", "(a) exp run s", "(b) direct s", "(a)/(b)"], rows))
    verdict = "ok" if exp_med / direct_med <= 1.3 else "OVER"
    print(f"\noverhead ratio {exp_med / direct_med:.2f} (aim <= 1.3: {verdict})")
    print(f"\n`dvc repro`, nothing changed: median of {NOOP_RUNS} {statistics.median(noop):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in noop)}; aim < 1.5 s: "
          f"{'ok' if statistics.median(noop) < 1.5 else 'OVER'})")
    print(f"`dvc repro` from scratch (fresh copy, empty cache), default params: {scratch:.1f} s "
          f"(aim < 180 s: {'ok' if scratch < 180 else 'OVER'})")


if __name__ == "__main__":
    main()
