from __future__ import annotations

import click

from mlv.cli.output import out
from mlv.core.declare.track import track as do_track
from mlv.core.declare.track import untrack as do_untrack
from mlv.core.project import open_project
from mlv.model.manifest import KINDS


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default=None,
    help="What the artifact is. Default: inferred from the path "
    "(model files -> model, *feature* -> features, metrics -> metrics, else data).",
)
def track(paths: tuple[str, ...], kind: str | None) -> int:
    """Track files or directories as artifacts.

    Declares them in mlv.toml and adds them to .gitignore; `mlv snapshot` stores their content.

    \b
    Example: mlv track data/raw --kind data && mlv track models/model.pkl
    """
    project = open_project()
    try:
        for item in do_track(project, list(paths), kind):
            out().print(f"tracking {item.path} ({item.kind})")
    finally:
        project.close()
    out().print("Next: mlv snapshot -m MESSAGE")
    return 0


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
def untrack(paths: tuple[str, ...]) -> int:
    """Stop tracking paths. The files stay; mlv.toml, .gitignore and mlv.lock forget them."""
    project = open_project()
    try:
        for rel in do_untrack(project, list(paths)):
            out().print(f"no longer tracking {rel}")
    finally:
        project.close()
    return 0
