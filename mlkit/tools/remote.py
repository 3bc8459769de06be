"""Set up a DVC remote in one command, check it, and check that git tracks no secret.

    mlkit remote add storage s3://bucket/prefix --endpoint https://minio.example:9000 --default
    mlkit remote add storage s3://bucket/prefix --local-credentials   # keys from AWS_* into config.local
    mlkit remote add backup /mnt/team/dvc-storage                      # a plain folder
    mlkit remote check storage                                         # reach it, list it
    mlkit remote secrets                                               # no secret in a tracked file

Tracked `.dvc/config` gets the url, endpoint, region and network settings; keys go to the untracked
`.dvc/config.local` (only with --local-credentials, read from the environment, never from the command
line) or stay in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), where boto finds them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlkit.core.errors import PipelineError
from mlkit.core.vcs import tracked_files
from mlkit.data.sources import (
    S3_CONNECT_TIMEOUT,
    S3_MAX_ATTEMPTS,
    S3_READ_TIMEOUT,
    s3_options,
)
from mlkit.tools.dvc_repo import add_remote, local_config, merged_config, set_remote_option

# DVC runs one transfer per job; 8 keeps a 2-core machine busy without flooding a small server.
S3_JOBS = 8
AWS_CONF = Path(".dvc/aws.conf")
AWS_CONF_TEXT = f"""\
# botocore settings for DVC's S3 remotes (`configpath` in .dvc/config, written by mlkit remote).
# Tracked by git: never put credentials here (they belong in the environment or .dvc/config.local).
# One retry in "standard" mode: a dead endpoint fails in seconds instead of retrying for minutes.
[default]
retry_mode = standard
max_attempts = {S3_MAX_ATTEMPTS}
"""
SECRET_KEYS = ("secret_access_key", "session_token", "password", "access_key_id")
SECRET_PATTERNS = [
    re.compile(r"^\s*(secret_access_key|session_token|password|aws_secret_access_key)\s*=\s*\S", re.M),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # an AWS access key id
]


def add(name: str, url: str, endpoint: str | None, region: str | None, profile: str | None,
        default: bool, local_credentials: bool, create_bucket: bool) -> None:
    if not Path(".dvc").is_dir():
        raise PipelineError("no .dvc folder here: run from the repository root")
    s3 = url.startswith("s3://")
    if not s3 and (endpoint or region or profile or local_credentials or create_bucket):
        raise PipelineError(f"{url}: --endpoint, --region, --profile, --local-credentials and --create-bucket are "
                            "for s3:// remotes")
    add_remote(name, url, default=default)
    if not s3:
        print(f"remote {name}: {url}{' (default)' if default else ''}")
        return
    settings = {"connect_timeout": S3_CONNECT_TIMEOUT, "read_timeout": S3_READ_TIMEOUT, "jobs": S3_JOBS,
                "endpointurl": endpoint, "region": region, "profile": profile}
    if not profile:  # a named profile lives in ~/.aws/config, which configpath would hide
        if not AWS_CONF.is_file():
            AWS_CONF.write_text(AWS_CONF_TEXT, encoding="utf-8")
        settings["configpath"] = str(AWS_CONF)  # DVC stores it relative to .dvc/
    for key, value in settings.items():
        if value is not None:
            set_remote_option(name, key, str(value))
    if local_credentials:
        keys = {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY"}
        missing = [env for env in keys.values() if not os.environ.get(env)]
        if missing:
            raise PipelineError(f"--local-credentials reads {' and '.join(missing)} from the environment: not set")
        for key, env in keys.items():
            set_remote_option(name, key, os.environ[env], local=True)
    if create_bucket:
        fs = _s3(name, url)
        bucket = url[5:].split("/", 1)[0]
        _call(lambda: fs.exists(bucket) or fs.mkdir(bucket), name, url)
    print(f"remote {name}: {url}{f' at {endpoint}' if endpoint else ''}{' (default)' if default else ''}; "
          f"credentials in {'.dvc/config.local' if local_credentials else 'the environment'}")


def _s3(name: str, url: str):
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **s3_options(name, url))


def _call(action, name: str, url: str):
    try:
        return action()
    except PermissionError as exc:
        raise PipelineError(f"remote {name} ({url}): access denied, check the credentials ({exc})") from None
    except FileNotFoundError:
        raise PipelineError(f"remote {name} ({url}): no such bucket (create it: --create-bucket)") from None
    except Exception as exc:  # noqa: BLE001 - botocore: unreachable endpoint, timeouts
        detail = " ".join(str(exc).split())[:300]
        raise PipelineError(f"remote {name} ({url}): {type(exc).__name__}: {detail}") from None


def check(name: str | None) -> None:
    """Reach the remote with the credentials DVC would use, and count what it holds."""
    config = merged_config()
    name = name or config["core"].get("remote")
    if not name or name not in config.get("remote", {}):
        raise PipelineError(f"no DVC remote {name!r}; remotes: {', '.join(config.get('remote', {})) or 'none'}")
    url = config["remote"][name]["url"]
    if not url.startswith("s3://"):
        if not Path(url).is_dir():
            raise PipelineError(f"remote {name} ({url}): no such folder (it is created by the first dvc push)")
        print(f"remote {name} ({url}): ok")
        return
    fs = _s3(name, url)
    found = _call(lambda: fs.find(url), name, url)
    print(f"remote {name} ({url}): ok, {len(found)} objects")


def tracked_secrets(root: Path = Path(".")) -> list[str]:
    """Tracked files holding a credential: a key assignment, an AWS key id, or a configured secret's value."""
    values = {os.environ.get(v) for v in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    local = Path(root) / ".dvc" / "config.local"
    if local.is_file():
        conf = local_config(root)
        values |= {c.get(k) for c in conf.get("remote", {}).values() for k in SECRET_KEYS if k != "access_key_id"}
    secrets = {v for v in values if v and len(v) >= 8}
    found = []
    for name in tracked_files(root):
        path = Path(root) / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if any(p.search(text) for p in SECRET_PATTERNS) or any(v in text for v in secrets):
            found.append(name)
    return found


def check_secrets() -> None:
    """Fail when a git-tracked file holds a credential."""
    found = tracked_secrets()
    if found:
        raise PipelineError(f"credentials in tracked files: {', '.join(found)} (move them to .dvc/config.local)")
    print("no credentials in tracked files")
