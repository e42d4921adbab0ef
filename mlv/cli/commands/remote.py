from __future__ import annotations

import click
from rich.table import Table

from mlv.cli.output import out
from mlv.core.project import open_project
from mlv.core.remote.declared import ReadyRemote, add_remote, init_remote, remove_remote

parents_option = click.option(
    "--parents",
    is_flag=True,
    help="Also create missing parent directories of a directory remote (like mkdir -p).",
)


@click.group()
def remote() -> None:
    """Manage remotes: shared object stores on a directory, S3 or any fsspec filesystem.

    URLs are kept in mlv.toml; credentials never are (they come from the backend's own
    environment, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE for S3).
    A directory remote is created only by `remote add` or `remote init`, never by push.
    """


def _say_initialised(ready: ReadyRemote) -> None:
    if ready.directory is None or ready.done == "already":
        return
    what = "created" if ready.done == "created" else "initialised existing directory"
    out().print(f"{what} {ready.directory} as remote {ready.decl.name}")


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
@parents_option
def add(
    name: str, url: str, default: bool, endpoint_url: str | None, force: bool, parents: bool
) -> int:
    """Add remote NAME at URL: a directory path, file://, s3://bucket/prefix, gs://, az://...

    The first remote added becomes the default. A directory remote is created here (its
    parent must exist unless --parents) or an existing directory is adopted, and marked with
    mlv-remote.json; push, fetch and verify refuse a directory that is missing or unmarked.
    """
    project = open_project()
    try:
        ready = add_remote(
            project,
            name,
            url,
            default=default,
            endpoint_url=endpoint_url,
            force=force,
            parents=parents,
        )
    finally:
        project.close()
    decl = ready.decl
    out().print(f"remote {decl.name}: {decl.url}" + (" (default)" if decl.default else ""))
    _say_initialised(ready)
    return 0


@remote.command("init")
@click.argument("name")
@parents_option
def init(name: str, parents: bool) -> int:
    """Create the directory of a declared remote.

    Creates and marks (mlv-remote.json) the directory of remote NAME, declared in mlv.toml by
    another clone (mlv.toml is shared, the directory is not). Its parent must exist unless
    --parents; an existing directory is adopted. Other remotes are only checked: create a
    bucket with the provider's tools.
    """
    project = open_project()
    try:
        ready = init_remote(project, name, parents=parents)
    finally:
        project.close()
    if ready.directory is not None and ready.done == "already":
        out().print(f"remote {name}: {ready.directory} is already initialised")
    elif ready.directory is None:
        out().print(f"remote {name}: {ready.decl.url} is reachable")
    _say_initialised(ready)
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
