from __future__ import annotations

import click
from rich.table import Table

from mlv.cli.output import out
from mlv.core.project import open_project
from mlv.core.remotes import add_remote, remove_remote


@click.group()
def remote() -> None:
    """Manage remotes: shared object stores on a directory, S3 or any fsspec filesystem.

    URLs are kept in mlv.toml; credentials never are (they come from the backend's own
    environment, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE for S3).
    """


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "default", is_flag=True, help="Use this remote when -r is not given.")
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="Endpoint of an S3-compatible store (MinIO, Ceph, a local test server).",
)
@click.option("--force", is_flag=True, help="Replace a remote of the same name.")
def add(name: str, url: str, default: bool, endpoint_url: str | None, force: bool) -> int:
    """Add remote NAME at URL: a directory path, file://, s3://bucket/prefix, gs://, az://...

    The first remote added becomes the default.
    """
    project = open_project()
    try:
        decl = add_remote(
            project, name, url, default=default, endpoint_url=endpoint_url, force=force
        )
    finally:
        project.close()
    out().print(f"remote {decl.name}: {decl.url}" + (" (default)" if decl.default else ""))
    return 0


@remote.command("list")
def list_() -> int:
    """List the remotes."""
    project = open_project()
    project.close()
    remotes = project.declarations.remotes
    if not remotes:
        out().print("No remotes. Add one with `mlv remote add NAME URL`.")
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "url", "endpoint", "default"):
        table.add_column(column)
    for r in sorted(remotes.values(), key=lambda r: r.name):
        table.add_row(r.name, r.url, r.endpoint_url or "", "yes" if r.default else "")
    out().print(table)
    return 0


@remote.command("remove")
@click.argument("name")
def remove(name: str) -> int:
    """Remove remote NAME from mlv.toml (the objects on it are left alone)."""
    project = open_project()
    try:
        remove_remote(project, name)
    finally:
        project.close()
    out().print(f"removed remote {name}")
    return 0
