"""compare: the new model against the registry's champion on the same test split -> metrics/compare.{json,md}.

The paired bootstrap and the decision are mlkit.modeling.comparison's; this stage picks the champion
(`compare.champion_rev`, else the registry's holder of `compare.champion_stage`) and writes the verdict.
"""

from __future__ import annotations

from mlkit.core import paths
from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import read_table, replacing, write_json
from mlkit.core.params import PARAMS_FILE, load_params, metric_problem
from mlkit.modeling.card import ModelCard
from mlkit.modeling.champion import find_champion
from mlkit.modeling.comparison import judge
from mlkit.modeling.metrics import read_predictions


def main() -> None:
    params = load_params().compare
    card = ModelCard.read(paths.MODEL)
    problem = metric_problem(params.metric, card.task, card.positive_label)
    if problem:
        raise PipelineError(f"{PARAMS_FILE}: {problem}")
    test = read_table(paths.split("test"))
    new = read_predictions(paths.PREDICTIONS, card.task)["prediction"].tolist()
    verdict = judge(find_champion(params), test, new, card, params)
    with replacing(paths.COMPARE_MD) as tmp:
        tmp.write_text(verdict.markdown, encoding="utf-8")
    write_json(paths.COMPARE_JSON, verdict.record)
    print(verdict.markdown)


if __name__ == "__main__":
    run_main(main)
