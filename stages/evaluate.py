"""evaluate: score models/model on train, valid and test; headline metrics (compare.metric per split, test
accuracy), plots and test predictions via dvclive; every averaging and the gap in scores.json, the per-class
figures in per_class.json (mlkit.modeling.evaluation computes them all)."""

from pathlib import Path

from dvclive import Live

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import read_table, replacing, write_json
from mlkit.core.params import PARAMS_FILE, load_params, metric_problem
from mlkit.modeling.base import load_model
from mlkit.modeling.evaluation import evaluate, log_to_live
from mlkit.modeling.incremental import sample_reader


def main() -> None:
    params = load_params()
    metric = params.compare.metric
    model = load_model(paths.MODEL)
    problem = metric_problem(metric, model.task, model.positive_label)  # an experiment may change it alone
    if problem:
        raise PipelineError(f"{PARAMS_FILE}: {problem}")
    with replacing(paths.EVAL, is_dir=True) as folder:
        live = Live(str(folder), dvcyaml=False, save_dvc_exp=False)
        # data.streaming: the train sample read row group by row group, not the whole split
        sample = sample_reader(paths.split("train")) if params.data.streaming else None
        result = evaluate(model, lambda split: read_table(paths.split(split)), params.evaluate.train_rows,
                          params.evaluate.seed, read_sample=sample)
        write_json(folder / Path(paths.SCORES).name, result.scores())
        write_json(folder / Path(paths.PER_CLASS).name, result.per_class())
        log_to_live(live, result, model, metric)
        result.predictions(model.task).to_csv(folder / Path(paths.PREDICTIONS).name, index=False)
    print(result.summary())


if __name__ == "__main__":
    run_main(main)
