"""What DVC costs on top of the stage scripts: `dvc exp run` vs the same scripts run by hand.

    python -m benchmarks exp_overhead

Works in a temporary committed copy of the project on the default params; the working tree is untouched.
Writes docs/studies/results/exp_overhead.{json,md}, which docs/studies/queue.md includes.
"""

from __future__ import annotations

from mlkit.testing import git
from mlkit.testing.bench import DIRECT, commit, project_copy, record, run, set_params

VALUES = (0.3, 0.7, 1.5)  # model.C, each new, so train (and what follows it) really reruns every time
NOOP_RUNS = 5
def row(name: str, exp: float, direct: float) -> list[object]:
    return [name, f"{exp:.2f}", f"{direct:.2f}", f"{exp / direct:.2f}"]


def main() -> None:
    with project_copy() as project:
        # The first repro in a fresh copy, with an empty cache, is the from-scratch run (and the warm-up).
        scratch = run("dvc repro", project)
        commit(project, "default params: dvc.lock")
        noop = [run("dvc repro", project) for _ in range(NOOP_RUNS)]

        rows: list[list[object]] = []
        exp_times: list[float] = []
        direct_times: list[float] = []
        for c in VALUES:  # alternate (a) and (b), so drift in the machine hits both alike
            git("checkout", "-q", "--", "params.yaml", "dvc.lock", cwd=project)
            exp_times.append(run(f"dvc exp run -S model.C={c}", project))
            set_params(project, {"model.C": c})
            direct_times.append(run(DIRECT, project))
            rows.append(row(f"C={c}", exp_times[-1], direct_times[-1]))
        # other work on the machine only adds time: the fastest run of each is the estimate (as timeit takes)
        exp_fastest, direct_fastest = min(exp_times), min(direct_times)
        rows.append(row("fastest", exp_fastest, direct_fastest))

    noop_fastest = min(noop)
    more = [("`dvc repro` on its own", ["run", "s"],
             [[f"nothing changed (fastest of {NOOP_RUNS})", f"{noop_fastest:.2f}"],
              ["from scratch: a fresh copy, an empty cache, the default params", f"{scratch:.1f}"]])]
    numbers = {"model_C": list(VALUES), "exp_run_s": exp_times, "direct_s": direct_times,
               "overhead_ratio": exp_fastest / direct_fastest, "noop_repro_s": noop, "scratch_repro_s": scratch}
    note = f"(a) `dvc exp run -S model.C=C`; (b) model.C set in params.yaml, then `{DIRECT}`:"
    headers = ["run", "(a) exp run s", "(b) direct s", "(a)/(b)"]
    print(f"written: {record('exp_overhead', numbers, headers, rows, note=note, more=more)}")

if __name__ == "__main__":
    main()
