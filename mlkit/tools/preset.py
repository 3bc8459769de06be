"""Apply a preset: `mlkit preset NAME` validates presets/NAME.yaml and writes it to params.yaml."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlkit.core.errors import PipelineError, run_main
from mlkit.core.io import replacing
from mlkit.core.params import PARAMS_FILE, read_yaml, validate

PRESETS = Path("presets")


def available() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def apply(name: str, target: Path = PARAMS_FILE) -> None:
    source = PRESETS / f"{name}.yaml"
    if not source.is_file():
        raise PipelineError(f"preset {name!r}: unknown; available: {', '.join(available())}")
    validate(read_yaml(source), str(source))
    with replacing(target) as tmp:
        tmp.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="mlkit preset", description=__doc__)
    parser.add_argument("name", nargs="?", help="preset to apply; without it, list them")
    args = parser.parse_args()
    if args.name is None:
        print("\n".join(available()))
        return
    apply(args.name)
    print(f"params.yaml <- presets/{args.name}.yaml; run `dvc repro`")


if __name__ == "__main__":
    run_main(main)
