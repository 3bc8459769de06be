"""requirements.txt, the lock that scripts/setup.sh installs, agrees with pyproject.toml: each direct pin (the
dependencies and every extra) at its version, no direct dependency that pyproject.toml lost, and the inputs
it was locked from (their sha256 in its header) are pyproject.toml's now. Offline: it reads the two files.
After a change to pyproject.toml's dependencies: bash scripts/lock.sh."""

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.txt"
DIRECT = "mlkit (pyproject.toml)"  # uv's "# via" for a dependency that pyproject.toml names
CUDA = re.compile(r"nvidia-|cuda-|triton$")  # what a CUDA torch pulls in; setup.sh installs torch itself


def _requirements(pyproject_text: str) -> list[Requirement]:
    project = tomllib.loads(pyproject_text)["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(r) for r in project["dependencies"] + [r for reqs in extras.values() for r in reqs]]


def inputs_sha256(pyproject_text: str | None = None) -> str:
    """The digest of what the lock resolves: pyproject.toml's dependencies and extras, as written.
    scripts/lock.sh records it in requirements.txt's header."""
    project = tomllib.loads(PYPROJECT.read_text() if pyproject_text is None else pyproject_text)["project"]
    lines = [f"dependencies: {r}" for r in project["dependencies"]]
    lines += [f"{x}: {r}" for x, reqs in project.get("optional-dependencies", {}).items() for r in reqs]
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


@dataclass
class Pin:
    version: str
    hashes: int = 0
    via: set[str] = field(default_factory=set)


@dataclass
class Lock:
    pins: dict[str, Pin]
    left_out: set[str]  # uv's "excluded from the output": torch and the CUDA packages only it needs
    inputs: str | None  # the header's pyproject.toml inputs sha256


def parse_lock(text: str) -> Lock:
    pins: dict[str, Pin] = {}
    left_out: set[str] = set()
    inputs = None
    pin = None
    in_left_out = False
    for line in text.splitlines():
        if m := re.match(r"# pyproject\.toml inputs sha256: ([0-9a-f]{64})$", line):
            inputs = m[1]
        elif line.startswith("# The following packages were excluded from the output"):
            in_left_out = True
        elif in_left_out and (m := re.match(r"# (\S+)$", line)):
            left_out.add(canonicalize_name(m[1]))
        elif m := re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", line):
            pin = pins[canonicalize_name(m[1])] = Pin(m[2])
        elif pin and line.strip().startswith("--hash="):
            pin.hashes += 1
        elif pin and (m := re.match(r"\s+#\s+(?:via\s+)?(\S.*)$", line)) and m[1] != "via":
            pin.via.add(m[1].strip())
    return Lock(pins, left_out, inputs)


def disagreements(pyproject_text: str, lock_text: str) -> list[str]:
    """Where the lock and pyproject.toml disagree, one line each; none when the lock is current."""
    lock = parse_lock(lock_text)
    out = []
    if lock.inputs != inputs_sha256(pyproject_text):
        out.append(f"requirements.txt was locked from other dependencies (inputs sha256 {lock.inputs}, pyproject.toml's now {inputs_sha256(pyproject_text)})")
    named = set()
    for req in _requirements(pyproject_text):
        name = canonicalize_name(req.name)
        named.add(name)
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        if not pinned:
            out.append(f"{req}: pyproject.toml pins its dependencies with ==")
        elif name in lock.left_out:
            continue  # torch: setup.sh installs it
        elif name not in lock.pins:
            out.append(f"{req}: not in requirements.txt")
        elif lock.pins[name].version != pinned[0]:
            out.append(f"{req} in pyproject.toml, {name}=={lock.pins[name].version} in requirements.txt")
    for name, pin in sorted(lock.pins.items()):
        if DIRECT in pin.via and name not in named:
            out.append(f"{name}=={pin.version}: a direct dependency in requirements.txt, not in pyproject.toml")
    return out


@pytest.mark.fast
def test_lock_agrees_with_pyproject() -> None:
    problems = disagreements(PYPROJECT.read_text(), LOCK.read_text())
    assert not problems, "\n".join(problems + ["requirements.txt is stale: run bash scripts/lock.sh"])


@pytest.mark.fast
def test_lock_hashes_every_pin_and_leaves_torch_and_cuda_to_setup() -> None:
    lock = parse_lock(LOCK.read_text())
    assert len(lock.pins) > 100  # the transitive dependencies too, not pyproject.toml's pins alone
    assert not [n for n, p in lock.pins.items() if not p.hashes], "pip install --require-hashes needs them all"
    assert "torch" in lock.left_out and "torch" not in lock.pins
    # a CUDA package stays only where something besides torch and its CUDA packages needs it (nvidia-ml-py: dvclive)
    cuda_only = [n for n, p in lock.pins.items() if CUDA.match(n) and not p.via - lock.left_out - {"torch"}]
    assert not cuda_only


def _planted(case: str) -> tuple[str, str, str]:
    """pyproject.toml and the lock with one disagreement planted, and the line expected about it. The pin it
    changes: pyproject.toml's first dependency without extras (dvclive==3.49.1, say)."""
    pyproject, lock = PYPROJECT.read_text(), LOCK.read_text()
    line = next(r for r in tomllib.loads(pyproject)["project"]["dependencies"] if re.fullmatch(r"[\w.-]+==\S+", r))
    name, version = line.split("==")
    assert f'"{line}"' in pyproject and f"\n{name}=={version} " in lock
    if case == "pin changed in pyproject.toml":
        pyproject = pyproject.replace(f'"{line}"', f'"{name}==0.0.1"')
        return pyproject, lock, f"{name}==0.0.1 in pyproject.toml, {name}=={version} in requirements.txt"
    if case == "extra added in pyproject.toml":
        pyproject = pyproject.replace(f'"{line}"', f'"{name}[planted]=={version}"')
        return pyproject, lock, "locked from other dependencies"
    if case == "dependency dropped from pyproject.toml":
        pyproject = pyproject.replace(f'"{line}",', "")
        return pyproject, lock, f"{name}=={version}: a direct dependency in requirements.txt, not in pyproject.toml"
    if case == "pin changed in the lock":
        lock = lock.replace(f"\n{name}=={version} ", f"\n{name}==0.0.1 ")
        return pyproject, lock, f"{line} in pyproject.toml, {name}==0.0.1 in requirements.txt"
    assert case == "pin missing from the lock"
    lock = lock.replace(f"\n{name}=={version} ", f"\nplanted=={version} ")
    return pyproject, lock, f"{line}: not in requirements.txt"


@pytest.mark.fast
@pytest.mark.parametrize(
    "case",
    [
        "pin changed in pyproject.toml",
        "extra added in pyproject.toml",
        "dependency dropped from pyproject.toml",
        "pin changed in the lock",
        "pin missing from the lock",
    ],
)
def test_a_planted_disagreement_is_found(case: str) -> None:
    pyproject, lock, expected = _planted(case)
    found = disagreements(pyproject, lock)
    assert any(expected in p for p in found), found
