"""The project's commands: presets, imports, WordNet, the registry, review reports, remotes, offline plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlkit.cli.app import app
from mlkit.core.errors import UsageError


# ---------------------------------------------------------------- the project's parameters and data
@app.command()
def preset(name: Annotated[str | None, typer.Argument(
        metavar="NAME", help="the preset to copy into params.yaml; without it, list them", show_default=False)]
        = None) -> None:
    """List the presets, or copy one into params.yaml (its imports run, its sources become fetch's deps)."""
    from mlkit.tools.preset import run

    run(name)


@app.command("import")
def import_() -> None:
    """`dvc import-url` the sources params.yaml names with import_url, declared as fetch's deps."""
    from mlkit.tools.imports import run

    run()


@app.command()
def wordnet() -> None:
    """Install WordNet for nltk (synonym augmentation) from Debian's files, else nltk's download."""
    from mlkit.data.wordnet import ensure

    ensure()


# ---------------------------------------------------------------- the registry, review, remotes
registry = typer.Typer(help="The model registry (GTO): promote HEAD's model when compare says so.",
                       no_args_is_help=True)
app.add_typer(registry, name="registry")


@registry.command("promote")
def registry_promote(
    push: Annotated[bool, typer.Option("--push", help="push the new git tags to origin")] = False,
) -> None:
    """Register HEAD's model as a new version and assign the champion's stage, when compare decided promote."""
    from mlkit.tools.registry import promote

    promote(push)


@app.command()
def report(
    base: Annotated[str | None, typer.Option(
        metavar="REV", help="the git revision to compare with (branch, tag, commit)")] = None,
    comment: Annotated[Path | None, typer.Option(
        metavar="FOLDER", help="print FOLDER/report.md as a PR comment body (with --link)")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="output folder")] = Path("report"),
    link: Annotated[str | None, typer.Option(
        metavar="URL", help="with --comment: where the images are (the run's artifact URL)")] = None,
) -> None:
    """The review report of a change against --base: metrics, params, compare's verdict and plots."""
    from mlkit.tools import report as review

    if (base is None) == (comment is None):
        raise UsageError("mlkit report: give one of --base REV or --comment FOLDER")
    if comment is not None:
        if not link:
            raise UsageError("mlkit report: --comment needs --link URL")
        print(review.comment(comment, link))
    else:
        assert base is not None
        print(review.build(base, output))


remote = typer.Typer(help="Set up the S3 DVC remote and check it and its secrets.", no_args_is_help=True)
app.add_typer(remote, name="remote")


@remote.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="the remote's name", show_default=False)],
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a folder", show_default=False)],
    endpoint: Annotated[str | None, typer.Option(
        metavar="URL", help="an S3-compatible store (MinIO, Ceph, ...): its URL")] = None,
    region: Annotated[str | None, typer.Option(help="the bucket's region")] = None,
    profile: Annotated[str | None, typer.Option(help="an AWS profile from ~/.aws/config")] = None,
    default: Annotated[bool, typer.Option("--default", help="make it the remote of dvc push/pull")] = False,
    local_credentials: Annotated[bool, typer.Option(
        "--local-credentials",
        help="copy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY into .dvc/config.local (untracked)")] = False,
    create_bucket: Annotated[bool, typer.Option("--create-bucket", help="create the bucket if it is missing")] = False,
) -> None:
    """Add or replace a DVC remote."""
    from mlkit.tools.remote import add

    add(name, url, endpoint, region, profile, default, local_credentials, create_bucket)


@remote.command("check")
def remote_check(name: Annotated[str | None, typer.Argument(
        help="the remote (default: the default remote)", show_default=False)] = None) -> None:
    """Reach a remote with the credentials DVC would use and count its objects."""
    from mlkit.tools.remote import check

    check(name)


@remote.command("secrets")
def remote_secrets() -> None:
    """Fail if a git-tracked file holds a credential."""
    from mlkit.tools.remote import check_secrets

    check_secrets()


plots = typer.Typer(help="The offline template for `dvc plots show` (vega inlined, no CDN).", no_args_is_help=True)
app.add_typer(plots, name="offline-plots")


@plots.command("build")
def plots_build(
    tarballs: Annotated[list[Path], typer.Argument(
        metavar="VEGA VEGA_LITE VEGA_EMBED", help="the npm tarballs", show_default=False)],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="the template to write")] = None,
) -> None:
    """Write the template from the npm tarballs of vega, vega-lite and vega-embed."""
    from mlkit.tools import offline_plots

    if len(tarballs) != 3:
        raise UsageError(f"mlkit offline-plots build: three tarballs (vega, vega-lite, vega-embed), got "
                         f"{len(tarballs)}")
    offline_plots.write(tarballs, output or offline_plots.TEMPLATE)


@plots.command("check")
def plots_check() -> None:
    """Check that the template holds the versions dvc-render references."""
    from mlkit.tools import offline_plots

    offline_plots.verify()


@app.command(hidden=True)
def reference(folder: Annotated[Path, typer.Argument(help="where the pages go")] = Path("docs/reference")) -> None:
    """Write the reference pages generated from the code: the command line and the params.yaml schema."""
    from mlkit.cli.reference import write

    for path in write(folder):
        print(f"written: {path}")
