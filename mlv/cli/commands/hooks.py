"""`mlv hooks`: install the git hook shims, and run one hook when git calls it.

What each hook decides, and says, is ``mlv.core.hooks.checks``; this module only prints it.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from mlv.adapters.git import GitRepo, find_toplevel


@click.group()
def hooks() -> None:
    """Install or remove mlv's git hooks (pre-commit, post-checkout, post-merge, pre-push)."""


@hooks.command()
@click.option("--force", is_flag=True, help="Replace a previously saved user hook.")
def install(force: bool) -> int:
    """Install the hooks into this repository's hooks directory (core.hooksPath honoured).

    A hook you already had is kept as <hook>.mlv-user and runs before mlv's. Safe to repeat.
    """
    from pathlib import Path

    from mlv.core.hooks.install import install as do_install

    for change in do_install(GitRepo(find_toplevel(Path.cwd())), force=force):
        click.echo(f"{change.hook}: {change.action}")
    return 0


@hooks.command()
def uninstall() -> int:
    """Remove mlv's hooks and put back the hooks they had replaced."""
    from pathlib import Path

    from mlv.core.hooks.install import uninstall as do_uninstall

    changes = do_uninstall(GitRepo(find_toplevel(Path.cwd())))
    for change in changes:
        click.echo(f"{change.hook}: {change.action}")
    if not changes:
        click.echo("no mlv hooks were installed")
    return 0


@hooks.command(hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("hook")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(hook: str, args: tuple[str, ...]) -> int:
    """Run one hook as git does (used by the shims and the pre-commit framework).

    A hook that refuses git's operation raises; the error boundary prints it and exits 1.
    """
    from mlv.core.hooks import checks as core

    if hook in core.AFTER_CHECKOUT:
        outcome = core.after_git_checkout(hook, args)
    elif hook == "pre-commit":
        outcome = core.before_commit()
    elif hook == "lock-valid":
        outcome = core.lock_valid()
    elif hook == "pre-push":
        outcome = core.before_push(args, sys.stdin)
    else:
        raise click.UsageError(f"unknown hook {hook!r}")
    for note in outcome.notes:
        sys.stderr.write(f"mlv: {note}\n")
    if outcome.failure is not None and os.environ.get("MLV_DEBUG"):
        traceback.print_exception(outcome.failure, file=sys.stderr)
    return 0
