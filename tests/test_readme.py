"""The commands the README and the docs show work as copied.

- docs/tutorials/own-data.md: its `cp` lines and each `data:` section, pasted into the default
  params.yaml, make fetch and split run and find the task the page names.
- README.md's five-minute tour: every `mlkit` line parses as the command line it names (options and
  arguments as the Typer app takes them), and its `dvc exp show --keep` pattern keeps the columns it
  promises and drops the others, as DVC matches it (at the start of a column's name)."""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest
import yaml

from mlkit.testing import ROOT, dataset, stage, workspace

OWN_DATA = (ROOT / "docs" / "tutorials" / "own-data.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- own-data example: (\w+) -->\n```yaml\n(.*?)```", re.S)
COPIES = re.findall(r"^cp \.\./shared/datasets/(\S+) (data/sources/\S+)$", OWN_DATA, re.M)


def tour() -> list[str]:
    """The README tour's command lines, comments left out."""
    start = README.index("## A five-minute tour")
    block = re.search(r"```bash\n(.*?)```", README[start:], re.S)
    assert block is not None
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]  # type: ignore[misc]


@pytest.mark.fast
def test_the_own_data_page_has_both_examples() -> None:
    assert [name for name, _ in EXAMPLE.findall(OWN_DATA)] == ["multiclass", "binary"]
    assert len(COPIES) == 2


@pytest.mark.fast
def test_the_readme_tour_runs_the_card_commands() -> None:
    lines = [" ".join(words) for words in tour()]
    for command in ("dvc exp run -S model.gamma=0.5", "dvc exp show", "mlkit report --base main -o report/"):
        assert any(line.startswith(command) for line in lines), command


@pytest.mark.fast
def test_the_readme_tours_mlkit_commands_parse() -> None:
    import typer
    import typer._click as click  # Typer vendors Click

    from mlkit.cli.app import app

    mlkit_lines = [words for words in tour() if words[0] == "mlkit"]
    assert mlkit_lines
    for words in mlkit_lines:
        command, ctx, args = typer.main.get_command(app), None, words[1:]
        ctx = click.Context(command, info_name="mlkit")
        while hasattr(command, "resolve_command"):  # a group: down to the command the words name
            name, command, args = command.resolve_command(ctx, args)
            assert command is not None, words
            ctx = command.make_context(name, list(args), parent=ctx)  # a usage error on an unknown option
            args = ctx.protected_args + ctx.args if hasattr(ctx, "protected_args") else ctx.args


@pytest.mark.fast
def test_the_readme_tours_keep_pattern_selects_the_columns() -> None:
    [show] = [words for words in tour() if words[:3] == ["dvc", "exp", "show"]]
    keep = re.compile(show[show.index("--keep") + 1])
    assert show[show.index("--drop") + 1] == ".*"
    kept = ["Experiment", "model.C", "model.gamma", "train.f1_macro", "valid.f1_macro", "test.f1_macro",
            "test.accuracy"]
    dropped = ["model.kernel", "State", "Created", "data/raw.parquet", "features.min_df", "train.accuracy"]
    assert all(keep.match(column) for column in kept)
    assert not any(keep.match(column) for column in dropped)


@pytest.mark.parametrize(("name", "labels"), [("multiclass", 6), ("binary", 2)])
def test_an_own_data_example_runs_as_copied(tmp_path, name: str, labels: int) -> None:
    section = yaml.safe_load(dict(EXAMPLE.findall(OWN_DATA))[name])
    folder = workspace(tmp_path, None)  # the committed default params.yaml, as `mlkit preset default` writes it
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["data"] = section["data"]  # "replace the whole data: section"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for source, target in COPIES:
        shutil.copyfile(dataset(source), folder / target)

    for name_ in ("fetch", "split"):
        done = stage(folder, name_)
        assert done.returncode == 0, done.stderr
    card = json.loads((folder / "metrics/data_card.json").read_text())
    assert card["task"] == name and len(card["labels"]) == labels
    if name == "binary":
        assert card["positive_label"] == "disaster" and sorted(card["labels"]) == ["disaster", "other"]
