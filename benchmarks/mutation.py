"""Mutation check: plant one bug at a time in a scratch copy of the project, run the tests that guard it.

    python -m benchmarks mutation                 # every mutant (about 10 minutes on 2 cores)
    python -m benchmarks mutation --fast          # only the mutants whose tests are fast (about 1 minute)
    python -m benchmarks mutation --only decide-uses-high --only skops-trusts-all
    python -m benchmarks mutation --list

The copy holds the tracked and untracked-but-not-ignored files (mlkit.testing.copy_tracked), committed in
its own git repository (tests read the committed params.yaml), with ../shared linked beside it. First the
guarding tests run unmutated and must pass; then each mutant is applied alone, its tests run (`pytest -x`),
and the file is put back. A mutant is killed when its tests fail (exit status 1), survived when they pass;
any other status (collection error, no tests) is reported as an error. The score is killed / mutants.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlkit.testing import copy_tracked, git
from mlkit.testing.bench import GIT_ID, SHARED, env, table


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str                           # the bug, for people
    path: str                           # the file it is planted in
    edits: tuple[tuple[str, str], ...]  # (text, replacement); each text must occur exactly once
    tests: tuple[str, ...]              # pytest arguments: files, node ids, -m fast
    fast: bool = True
    # the user's workspace while the tests run (file -> the tracked file whose content it gets); unmutated,
    # the tests must pass in it too
    workspace: tuple[tuple[str, str], ...] = ()


LEAKAGE = "tests/stages/test_leakage.py"
PROMOTE = "tests/stages/test_promote.py"
FAULTS = "tests/test_faults_interrupts.py"
QUEUE_FAULTS = "tests/tools/experiments/test_queue_faults.py"

MUTANTS = [
    Mutant("train-on-all-splits", "train fits on train + valid + test", "stages/train.py",
           (("    train = read_table(paths.AUGMENTED_TRAIN)\n",
             "    train = __import__('pandas').concat([read_table(paths.AUGMENTED_TRAIN)] + [read_table(paths.split(s)) "
             "for s in ('valid', 'test')], ignore_index=True)\n"),),
           (LEAKAGE,), fast=False),
    Mutant("augment-held-out-empty", "augment gets an empty valid/test set", "stages/augment.py",
           (("augment_train(train, held_out, params.augment)", "augment_train(train, held_out.iloc[:0], params.augment)"),),
           (LEAKAGE,), fast=False),
    Mutant("split-overlap-zero", "the split stage's overlap check returns 0", "mlkit/data/split.py",
           (('    """How many texts stand in more than one split (0 unless something upstream is wrong)."""\n',
             '    """How many texts stand in more than one split (0 unless something upstream is wrong)."""\n'
             "    return 0\n"),),
           ("tests/data/test_split.py",)),
    Mutant("decide-uses-high", "promote when the interval's upper end clears min_gain", "mlkit/modeling/comparison.py",
           (("if result.low > params.min_gain:", "if result.high > params.min_gain:"),),
           ("tests/stages/test_compare.py", "-m", "fast")),
    Mutant("decide-ignores-min-gain", "promote when the interval lies above 0, whatever min_gain",
           "mlkit/modeling/comparison.py",
           (("if result.low > params.min_gain:", "if result.low > 0:"),),
           ("tests/stages/test_compare.py", "-m", "fast")),
    Mutant("skops-trusts-all", "the skops load trusts every type in the file", "mlkit/modeling/skops_file.py",
           (("    if unknown:\n", "    if unknown and False:\n"),
            ("sio.load(path, trusted=TRUSTED_TYPES)", "sio.load(path, trusted=sio.get_untrusted_types(file=path))")),
           ("tests/modeling/test_security.py",)),
    Mutant("transformer-loads-pickle", "a transformer folder may load pytorch_model.bin", "mlkit/modeling/transformer.py",
           (("use_safetensors=True", "use_safetensors=None"),),
           ("tests/modeling/test_security.py",)),
    Mutant("binary-f1-wrong-class", "binary `f1` scores the negative class", "mlkit/modeling/metrics.py",
           (("pos_label=positive,", "pos_label=[label for label in labels if label != positive][0],"),),
           (f"{LEAKAGE}::test_binary_task_reports_the_positive_class_f1",), fast=False),
    Mutant("predict-ignores-no-header", "predict reads a header row despite --no-header", "mlkit/tools/predict.py",
           (("header=not args.no_header", "header=True"),),
           ("tests/tools/test_predict_options.py",)),
    Mutant("promote-ignores-stale", "promote registers a commit whose pipeline is not up to date",
           "mlkit/tools/registry.py", (("    if stale:\n", "    if False:\n"),),
           (f"{PROMOTE}::test_promote_refuses_a_stale_pipeline",), fast=False),
    Mutant("promote-ignores-new-holder", "promote acts on a verdict about an older champion", "mlkit/tools/registry.py",
           (('if not params.champion_rev and (holder.rev if holder else None) != result["champion_rev"]:',
             "if False:"),),
           (f"{PROMOTE}::test_promote_refuses_when_the_stage_changed_hands_since_compare",), fast=False),
    Mutant("champion-rev-ignored", "compare.champion_rev is ignored (the registry's champion is used)",
           "mlkit/modeling/champion.py", (("    if params.champion_rev:\n", "    if False:\n"),),
           (f"{PROMOTE}::test_champion_rev_compares_with_that_commit_instead_of_the_registry",), fast=False),
    Mutant("queued-run-reads-its-own-tags", "a queued experiment looks for the registry in its tagless copy",
           "mlkit/core/vcs.py", (('return Path(os.environ.get("DVC_ROOT") or ".").resolve()',
                                  'return Path(".").resolve()'),),
           ("tests/stages/test_compare.py::test_queued_experiment_sees_the_registry",), fast=False),
    Mutant("missing-data-skips-under-ci", "a missing dataset skips even under CI",
           "mlkit/testing/project.py",
           (('if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):', "if False:"),),
           ("tests/test_harness.py",)),
    Mutant("params-read-from-workspace", "a test project copies the workspace's params.yaml",
           "mlkit/testing/project.py",
           (('    (dest / "params.yaml").write_text(committed("params.yaml"))\n', ""),),
           ("tests/core/test_params.py", "tests/tools/test_preset_apply.py", "-m", "fast"),
           workspace=(("params.yaml", "presets/digits.yaml"),)),
    Mutant("hashing-ignored", "features.hashing is ignored (a vocabulary is built anyway)",
           "mlkit/modeling/sklearn_model.py", (("    if params.hashing is None:\n", "    if True:\n"),),
           ("tests/modeling/test_models.py::test_hashed_features_keep_the_model_file_the_same_size_as_rows_grow",)),
    Mutant("predict-chunks-misplaced", "a later chunk's predictions land on the first rows",
           "mlkit/modeling/sklearn_model.py",
           (("        return np.concatenate([np.asarray(method(inputs(frame.iloc[begin:begin + PREDICT_CHUNK])))\n"
             "                               for begin in range(0, len(frame), PREDICT_CHUNK)])",
             "        return np.concatenate([np.asarray(method(inputs(frame.iloc[0:PREDICT_CHUNK])))\n"
             "                               for begin in range(0, len(frame), PREDICT_CHUNK)])"),),
           ("tests/modeling/test_models.py::test_hashed_features_keep_the_model_file_the_same_size_as_rows_grow",)),
    Mutant("train-split-never-sampled", "evaluate scores every train row whatever evaluate.train_rows",
           "stages/evaluate.py", (('            if split == "train" and settings.train_rows is not None',
                                   '            if False and settings.train_rows is not None'),),
           ("tests/stages/test_evaluate_output.py::test_a_large_train_split_is_scored_on_a_sample_and_the_metrics_say_so",),
           fast=False),
    Mutant("parallel-runs-oversubscribe", "queued runs in parallel each take every CPU", "mlkit/core/devices.py",
           (("    if parallel > 1 and not environ.get(THREADS_ENV):", "    if False:"),),
           ("tests/core/test_devices.py",)),
    Mutant("embedding-memo-unread", "the embedding memo is written but never read", "mlkit/modeling/embeddings.py",
           (("        if path.is_file():\n            return np.load(path)\n", ""),),
           ("tests/modeling/test_embeddings.py::test_each_text_gets_its_own_normalised_embedding_and_the_result_is_memoised",)),
    Mutant("use-memo-ignores-version", "the USE's memo key leaves out the encoder package's version",
           "mlkit/modeling/embeddings.py",
           (('                return f"{USE_PACKAGE}=={version(USE_PACKAGE)}"', '                return MULTILINGUAL_USE'),),
           ("tests/modeling/test_embeddings.py::test_the_multilingual_use_embeds_russian_in_batches_and_is_memoised",)),
    Mutant("thresholds-tuned-on-test", "train hands the transformer the test split where valid belongs (early "
           "stopping and the multilabel thresholds tuned on test)", "stages/train.py",
           (('        valid = read_table(paths.split("valid"))', '        valid = read_table(paths.split("test"))'),),
           ("tests/modeling/test_transformer.py::test_multilabel_russian_format",), fast=False),
    Mutant("valid-scored-on-test", "evaluate reports the test split's scores as valid's", "stages/evaluate.py",
           (("            frame = read_table(paths.split(split))",
             "            frame = read_table(paths.split('test' if split == 'valid' else split))"),),
           ("tests/stages/test_evaluate_output.py::test_every_reported_figure_is_recomputed_from_the_files_on_disk",),
           fast=False),
    Mutant("macro-is-weighted", "f1_macro averaged with support weights", "mlkit/modeling/metrics.py",
           (('average=name.removeprefix("f1_")', 'average=name.removeprefix("f1_").replace("macro", "weighted")'),),
           ("tests/stages/test_evaluate_output.py::test_every_reported_figure_is_recomputed_from_the_files_on_disk",),
           fast=False),
    Mutant("global-threshold-ignored", "model.thresholds: global still tunes one threshold per label",
           "mlkit/modeling/hf_training.py", (('    if mode == "global":', '    if mode == "one for all":'),),
           ("tests/modeling/test_hf_training.py",)),
    Mutant("auto-length-unmeasured", "max_length: auto keeps the checkpoint's limit instead of measuring the texts",
           "mlkit/modeling/transformer.py",
           (("            self.max_length = covering_length(lengths, self.max_length)\n", ""),),
           ("tests/modeling/test_transformer.py::test_the_recipe_options_reach_the_model",)),
    Mutant("binary-positive-guessed", "a binary pair with no obvious positive class takes its last label",
           "mlkit/data/dataset.py", (("    return by_lower[obvious] if obvious else None\n", "    return labels[-1]\n"),),
           ("tests/data/test_dataset.py",)),
    Mutant("text-columns-keep-empty", "joined text columns keep an empty one (a dangling delimiter)",
           "mlkit/data/sources.py", (("join(p for p in row if p.strip())", "join(row)"),),
           ("tests/data/test_sources.py",)),
    Mutant("binary-curves-need-positive", "evaluate draws a binary task's curves for a positive class it lacks",
           "stages/evaluate.py", (('    if task == "binary" and positive is not None:', '    if task == "binary":'),),
           ("tests/stages/test_task_settings.py::test_a_binary_pair_without_a_positive_class_is_scored_without_f1",),
           fast=False),
    # issue #28: faults and interrupts
    Mutant("stage-outlives-dvc", "a stage whose dvc was killed runs on as an orphan", "mlkit/core/errors.py",
           (("                stop_with_dvc(_STARTED_BY)\n", "                pass\n"),),
           (f"{FAULTS}::test_a_stage_whose_dvc_is_killed_stops_and_the_rerun_works",), fast=False),
    Mutant("sigterm-kills-silently", "SIGTERM during a stage's work ends it without a line", "mlkit/core/errors.py",
           (("            signal.signal(signal.SIGTERM, _on_sigterm)\n", "            pass\n"),),
           (f"{FAULTS}::test_an_interrupted_stage_says_in_one_line_how_its_outputs_come_back", "-k", "SIGTERM"),
           fast=False),
    Mutant("import-interrupt-silent", "Ctrl+C while a stage imports exits without a line",
           "mlkit/core/errors.py", (("    report(why, 128 + signum)  # SystemExit", "    sys.exit(128 + signum)  # SystemExit"),),
           (f"{FAULTS}::test_ctrl_c_while_a_stage_starts_is_one_line",)),
    Mutant("sweep-interrupt-leaves-queue", "Ctrl+C leaves a sweep's workers and queued experiments behind",
           "mlkit/tools/experiments/queue_workers.py",
           (('    states = {e["rev"]: e["status"] for e in queue_status(root) if e["rev"] in revs}\n',
             '    return 0, 0\n'),),
           (f"{QUEUE_FAULTS}::test_ctrl_c_stops_the_sweep_its_workers_and_queue_and_the_next_sweep_runs",),
           fast=False),
    Mutant("dead-worker-task-running", "a dead worker's experiment stays Running (the sweep waits for good)",
           "mlkit/tools/experiments/queue_workers.py",
           (("    if len(running) <= len(workers):\n", "    if True:\n"),),
           (f"{QUEUE_FAULTS}::test_a_killed_worker_fails_its_experiment_which_is_requeued",), fast=False),
    Mutant("race-not-retried", "a point lost to DVC's parallel-queue race is not requeued",
           "mlkit/tools/experiments/queue.py",
           (("    return outcome.lost or RACE in failure_log(", "    return outcome.lost and RACE in failure_log("),),
           (f"{QUEUE_FAULTS}::test_a_point_lost_to_the_parallel_queue_race_is_requeued",), fast=False),
]


def scratch_copy(folder: Path) -> Path:
    """The project in `folder`/project, committed, with ../shared beside it."""
    project = folder / "project"
    if SHARED.is_dir():
        (folder / "shared").symlink_to(SHARED, target_is_directory=True)
    copy_tracked(project)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git(*GIT_ID, "commit", "-qm", "mutation scratch copy", cwd=project)
    return project


def pytest(project: Path, args: tuple[str, ...], extra: list[str] | None = None) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--durations=0",
                           *(extra or []), *args], cwd=project, env=env(), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, time.perf_counter() - started, lines[-1] if lines else done.stderr.strip()[-200:]


Group = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]  # pytest options, workspace


def baseline(mutants: list[Mutant]) -> dict[Group, tuple[str, ...]]:
    """Every mutant's tests, unmutated, in as few runs as their options and workspaces allow."""
    groups: dict[Group, set[str]] = {}
    for mutant in mutants:
        options = tuple(arg for arg in mutant.tests if not arg.startswith("tests/"))
        paths = groups.setdefault((options, mutant.workspace), set())
        paths.update(arg for arg in mutant.tests if arg.startswith("tests/"))
    return {group: tuple(sorted(p for p in paths if p.split("::")[0] == p or p.split("::")[0] not in paths))
            for group, paths in groups.items()}


@contextmanager
def workspace(project: Path, files: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """The workspace as a user may leave it (a preset applied): uncommitted changes, put back afterwards."""
    saved = {name: (project / name).read_bytes() for name, _ in files}
    try:
        for name, source in files:
            (project / name).write_bytes((project / source).read_bytes())
        yield
    finally:
        for name, content in saved.items():
            (project / name).write_bytes(content)


def mutate(project: Path, mutant: Mutant) -> str:
    path = project / mutant.path
    original = path.read_text(encoding="utf-8")
    text = original
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise SystemExit(f"mutant {mutant.name}: {old!r} occurs {count} times in {mutant.path} (the code moved?)")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME", help="run this mutant (repeatable)")
    parser.add_argument("--fast", action="store_true", help="only mutants whose guarding tests are fast")
    parser.add_argument("--list", action="store_true", help="list the mutants and their tests")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if (not args.only or m.name in args.only) and (m.fast or not args.fast)]
    unknown = set(args.only or []) - {m.name for m in MUTANTS}
    if unknown:
        raise SystemExit(f"unknown mutant(s): {', '.join(sorted(unknown))}; --list shows them")
    if args.list:
        print(table(["mutant", "bug", "file", "tests"], [(m.name, m.what, m.path, " ".join(m.tests)) for m in chosen]))
        return
    with tempfile.TemporaryDirectory(prefix="mlkit-mutation-") as tmp:
        project = scratch_copy(Path(tmp))
        for mutant in chosen:  # every edit must apply to the code as it is now, before anything runs
            (project / mutant.path).write_text(mutate(project, mutant), encoding="utf-8")
        for (options, files), paths in baseline(chosen).items():
            with workspace(project, files):
                code, seconds, summary = pytest(project, (*paths, *options))
            shown = " ".join((*paths, *options)) + "".join(f" [{name} <- {source}]" for name, source in files)
            print(f"unmutated: {shown}: {summary} ({seconds:.0f} s)", flush=True)
            if code != 0:
                raise SystemExit("the guarding tests fail without any mutant: fix them first")
        rows = []
        for mutant in chosen:
            original = mutate(project, mutant)
            try:
                with workspace(project, mutant.workspace):
                    code, seconds, summary = pytest(project, mutant.tests)
            finally:
                (project / mutant.path).write_text(original, encoding="utf-8")
            verdict = {0: "SURVIVED", 1: "killed"}.get(code, f"error ({code})")
            rows.append((mutant.name, mutant.what, verdict, round(seconds), summary))
            print(f"{mutant.name}: {verdict} ({summary})", flush=True)
    killed = sum(row[2] == "killed" for row in rows)
    print()
    print(table(["mutant", "planted bug", "result", "s", "tests"], rows))
    print(f"mutation score: {killed}/{len(rows)} killed ({killed / len(rows):.0%})")
    if killed < len(rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
