"""Training throughput of the train stage against a plain Trainer script, and tokenization against training.

    python -m benchmarks transformer_throughput [--rows 800] [--batch-size 16] [--max-length 64] [--epochs 1]

In a throw-away copy of the project, `dvc repro train` fine-tunes MiniLM on `--rows` rows of the
emotion set (the `emotion_transformer` preset); then a plain script (AutoTokenizer, default Trainer,
DataCollatorWithPadding, random batches, no evaluation, no checkpoints) trains the same checkpoint on
the same train split with the same batch size, epochs and learning rate. Throughput is Trainer's own
`train_samples_per_second` for the plain script; for the stage, both the time inside its training steps
(what the plain script does) and Trainer's whole run (+ the per-epoch evaluation on the valid split and
the best-checkpoint save). The plain script runs twice per turn: with Trainer's default random batches,
and with the stage's length-grouped batches (which isolates the stage's own overhead). Prints the ratios
(stage / plain), and the stage's tokenization time against its training time. Writes
docs/studies/results/transformer_throughput.{json,md}, which docs/studies/transformer.md includes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import yaml

from mlkit.testing.bench import (
    ROOT,
    env,
    import_sources,
    project_copy,
    record,
    run,
    run_output,
    table,
    train_timings,
)

PLAIN = r"""
import json, sys
import pandas as pd
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          TrainingArguments)
from mlkit.core.hub import resolve_checkpoint
checkpoint, batch, length, epochs, lr, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
sampling = sys.argv[7]
labels = json.load(open("metrics/data_card.json"))["labels"]
train = pd.read_parquet("data/augmented/train.parquet")
source, _ = resolve_checkpoint(checkpoint, "checkpoint")
tokenizer = AutoTokenizer.from_pretrained(source)
model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=len(labels))
encoded = tokenizer(train["text"].tolist(), truncation=True, max_length=length)
rows = [{"input_ids": i, "attention_mask": a, "labels": labels.index(y)}
        for i, a, y in zip(encoded["input_ids"], encoded["attention_mask"], train["label"])]
args = TrainingArguments(output_dir="/tmp/plain-trainer", per_device_train_batch_size=batch, num_train_epochs=epochs,
                         learning_rate=lr, seed=seed, save_strategy="no", report_to="none", disable_tqdm=True,
                         train_sampling_strategy=sampling)
result = Trainer(model=model, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer)).train()
print(json.dumps(result.metrics))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800, help="rows of the emotion set (70%% go to train)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each")
    args = parser.parse_args()

    with project_copy() as project:
        params = yaml.safe_load((ROOT / "presets" / "emotion_transformer.yaml").read_text())
        params["data"]["limit"] = args.rows
        params["model"].update(epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length)
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        import_sources(project)
        run("dvc repro augment", project)  # upstream first: the timed runs below share its output
        model = params["model"]
        plain_runs: list[dict] = []
        grouped_runs: list[dict] = []
        stage_runs: list[dict] = []
        for _ in range(args.repeat):  # alternate, so that load from other processes hits all alike
            for sampling, runs in (("random", plain_runs), ("group_by_length", grouped_runs)):
                plain = subprocess.run(
                    [sys.executable, "-c", PLAIN, model["checkpoint"], str(args.batch_size), str(args.max_length),
                     str(args.epochs), str(model["lr"]), str(model["seed"]), sampling],
                    cwd=project, env=env(), capture_output=True, text=True, check=True)
                runs.append(json.loads(plain.stdout.strip().splitlines()[-1]))
            stage_wall, log = run_output("dvc repro -f -s train", project)
            stage_runs.append(train_timings(log))  # the stage prints its timings to the log
        rows = len(__import__("pandas").read_parquet(project / "data/augmented/train.parquet"))

    def mean(runs: list[dict], key: str) -> float:
        return sum(float(r[key]) for r in runs) / len(runs)

    loop, whole = mean(stage_runs, "loop_samples_per_second"), mean(stage_runs, "train_samples_per_second")
    plain_rate = mean(plain_runs, "train_samples_per_second")
    grouped_rate = mean(grouped_runs, "train_samples_per_second")
    curves = stage_runs[-1]
    headers = ["run", "samples/s", "seconds"]
    table_rows: list[list[object]] = [
        ["train stage: training steps", loop, mean(stage_runs, "loop_seconds")],
        ["train stage: + valid eval, best checkpoint", whole, mean(stage_runs, "train_seconds")],
        ["plain Trainer script (defaults, no eval)", plain_rate, mean(plain_runs, "train_runtime")],
        ["plain script + group_by_length", grouped_rate, mean(grouped_runs, "train_runtime")],
    ]
    ratios: list[list[object]] = [
        ["stage training steps / plain script", loop / plain_rate],
        ["stage with its per-epoch evaluation / plain script", whole / plain_rate],
        ["stage training steps / plain script with the same length-grouped batches", loop / grouped_rate],
    ]
    tokenize, train = curves["tokenize_seconds"], curves["train_seconds"]
    costs: list[list[object]] = [["tokenization", tokenize, 100 * tokenize / train], ["training", train, 100.0],
                                 ["whole `dvc repro train`", stage_wall, None]]
    setting = (f"emotion, {rows} train rows, {args.epochs} epoch(s), batch {args.batch_size}, max_length "
               f"{args.max_length}, {model['checkpoint']}, CPU only; mean of {args.repeat} alternating run(s) each")
    more = [("Throughput ratios (samples per second)", ["throughput ratio", "ratio"], ratios),
            ("Tokenization against training, in the stage's last run", ["the stage's", "seconds", "% of training"],
             costs)]
    print(setting)
    print(table(headers, table_rows))
    for _, more_headers, more_rows in more:
        print(table(more_headers, more_rows))
    numbers = {"train_rows": rows, "epochs": args.epochs, "batch_size": args.batch_size,
               "max_length": args.max_length, "repeat": args.repeat,
               "stage_loop_samples_per_second": loop, "stage_train_samples_per_second": whole,
               "plain_samples_per_second": plain_rate, "plain_grouped_samples_per_second": grouped_rate,
               "tokenize_seconds": tokenize, "train_seconds": train, "repro_train_seconds": stage_wall}
    note = (f"`python -m benchmarks transformer_throughput --rows {args.rows} --repeat {args.repeat}`: {setting}")
    print(f"written: {record('transformer_throughput', numbers, headers, table_rows, note=note, more=more)}")


if __name__ == "__main__":
    main()
