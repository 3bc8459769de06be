"""Saving and loading scikit-learn pipelines as skops files: byte-stable on save, allowlisted on load.

skops names the archive's entries after `id()` of each array, records `id()` values in schema.json,
writes sets in hash order and stamps every entry (and the .npz archives inside, from numpy) with the
time of writing, so the same pipeline saved twice gives different bytes, and DVC sees a new model each
run (skops 0.16; no upstream issue found). `dump` rewrites the archive canonically: entries named by
their content's hash, set items sorted, ids renumbered in order of appearance, fixed dates. `load`
refuses any type beyond skops' defaults and TRUSTED_TYPES before anything is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio

from mlkit.core.errors import PipelineError, first_line

# Types a saved pipeline may hold beyond skops' defaults; anything else in a file refuses to load.
TRUSTED_TYPES = ["scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix",
                 "mlkit.modeling.embeddings.SentenceEmbedder",  # holds a checkpoint name and a length only
                 "mlkit.modeling.kernel.KernelFeatures",  # Nystroem with SVC's gamma names: arrays and numbers
                 "sklearn.tree._tree.Tree"]  # random_forest's trees: node arrays (skops leaves Cython types out)
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
SCHEMA = "schema.json"


def _write_zip(entries: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip of name -> (content, compression), sorted by name, with fixed dates and attributes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(entries):
            content, compression = entries[name]
            fixed = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            fixed.compress_type = compression
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, content)
    return out.getvalue()


def _entries(data: bytes) -> dict[str, tuple[bytes, int]]:
    """An archive's entries; the .npz archives inside (numpy's own zips, dated too) made canonical."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    found = {}
    for info in archive.infolist():
        content = archive.read(info)
        if info.filename.endswith(".npz"):
            content = _write_zip(_entries(content))
        found[info.filename] = (content, info.compress_type)
    return found


def _renumber(node: Any, files: dict[str, str], ids: dict[int, int]) -> Any:
    """schema.json with file names mapped through `files` and `__id__` values numbered 1, 2, ..."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids) + 1)
            elif key == "file" and isinstance(value, str) and value in files:
                out[key] = files[value]
            else:
                out[key] = _renumber(value, files, ids)
        return out
    if isinstance(node, list):
        return [_renumber(v, files, ids) for v in node]
    return node


def _without_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_ids(v) for k, v in node.items() if k != "__id__"}
    if isinstance(node, list):
        return [_without_ids(v) for v in node]
    return node


def _sort_sets(node: Any) -> Any:
    """A set's items in a fixed order: skops writes them in iteration order, which follows string hashing,
    randomised per process (TfidfVectorizer.stop_words_ is a set of terms)."""
    if isinstance(node, list):
        return [_sort_sets(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _sort_sets(v) for k, v in node.items()}
    if out.get("__class__") in ("set", "frozenset") and isinstance(out.get("content"), list):
        out["content"] = sorted(out["content"], key=lambda item: json.dumps(_without_ids(item), sort_keys=True))
    return out


def canonical(data: bytes) -> bytes:
    """A skops archive rewritten so that equal pipelines give equal bytes."""
    entries = _entries(data)
    schema = _sort_sets(json.loads(entries.pop(SCHEMA)[0]))
    files = {name: hashlib.sha256(content).hexdigest()[:20] + Path(name).suffix
             for name, (content, _) in entries.items()}
    renamed = {files[name]: value for name, value in entries.items()}
    renamed[SCHEMA] = (json.dumps(_renumber(schema, files, {}), indent=2, sort_keys=True).encode(), zipfile.ZIP_STORED)
    return _write_zip(renamed)


def dump(obj: Any, path: Path) -> None:
    path.write_bytes(canonical(sio.dumps(obj)))


def load(path: Path) -> Any:
    """The object in a skops file, refusing untrusted types before anything is built."""
    if not path.is_file():
        raise PipelineError(f"{path}: missing (the model card names a scikit-learn model)")
    try:
        unknown = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    except Exception as exc:  # noqa: BLE001 - skops raises zipfile's, json's and its own errors
        raise PipelineError(f"{path}: not a readable skops file ({first_line(exc)})") from None
    if unknown:
        raise PipelineError(f"{path}: holds types this project does not trust: {', '.join(unknown)}")
    try:
        return sio.load(path, trusted=TRUSTED_TYPES)
    except Exception as exc:  # noqa: BLE001 - as above
        raise PipelineError(f"{path}: not a readable skops file ({first_line(exc)})") from None
