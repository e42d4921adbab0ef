from __future__ import annotations

import click

from mlv.cli.output import out
from mlv.core.declare.init import init as do_init


@click.command()
@click.option(
    "--cache-dir",
    metavar="DIR",
    help="Keep this clone's object store in DIR (e.g. one store shared by several "
    "clones). Saved in .mlv/config.local.toml, which git ignores.",
)
def init(cache_dir: str | None) -> int:
    """Make this git repository an mlv project.

    Creates mlv.toml (your declarations) and .mlv/ (local state). Safe to run again, and in a
    fresh clone of a project that already has mlv.toml.
    """
    result = do_init(cache_dir=cache_dir)
    if result.created:
        out().print(f"Initialised mlv in {result.root}")
        out().print("Next: mlv track PATH, then mlv snapshot -m MESSAGE")
    else:
        out().print(f"mlv is already set up in {result.root}")
    if result.cache_dir is not None:
        out().print(f"Object store: {result.cache_dir}")
    return 0
