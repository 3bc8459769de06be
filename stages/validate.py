"""validate: the whole of params.yaml against the schema, before any stage removes an output.

Every stage validates the file too, but DVC reruns a stage only when the sections it reads change: an
unknown section (a typo such as `modle:`) or a bad value in a section no changed stage reads would pass
unseen. This stage depends on the whole file, so any edit reruns it, and it has no outs, so a refusal
loses nothing. DVC runs stages that do not depend on one another in dvc.yaml's order, which puts it first.
"""

from mlkit.core.errors import run_main
from mlkit.core.params import load_params


def main() -> None:
    load_params()
    print("validate: params.yaml is valid")


if __name__ == "__main__":
    run_main(main, outs=False)
