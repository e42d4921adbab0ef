from __future__ import annotations

import click

from mlv.cli.output import RichProgress, human_size, out
from mlv.core.project import Project, open_project
from mlv.core.restore.checkout import checkout as do_checkout
from mlv.errors import UnknownRevision, UsageError


@click.command()
@click.argument("args", nargs=-1, metavar="[REV] [--] [PATH...]")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite or delete work-tree files even when their content is not in the "
    "store (it is lost).",
)
def checkout(args: tuple[str, ...], force: bool) -> int:
    """Restore tracked paths as recorded at REV (default: the work tree's mlv.lock).

    Files that already match are skipped; files the snapshot does not have are removed. A file
    whose content is not saved in the store is never overwritten or deleted without --force.
    mlv.lock and git's HEAD are not changed (like `git checkout REV -- PATH`).

    \b
    The first argument is a revision when git knows it as one; use -- to be explicit:
      mlv checkout HEAD~2                 everything as of two commits ago
      mlv checkout HEAD~2 -- data/raw     only data/raw
      mlv checkout data/raw               data/raw as in the work tree's mlv.lock
    """
    project = open_project()
    try:
        rev, paths = _split_args(project, list(args))
        result = do_checkout(project, rev=rev, paths=paths, force=force, progress=RichProgress())
    finally:
        project.close()
    console = out()
    console.print(
        f"{len(result.written)} file(s) written ({human_size(result.bytes_written)}), "
        f"{len(result.removed)} removed, {result.unchanged} already up to date"
    )
    return 0


def _split_args(project: Project, args: list[str]) -> tuple[str | None, list[str]]:
    """REV and PATHs: with `--`, what stands before it is the revision; without, the first
    argument is the revision when git resolves it."""
    root = click.get_current_context().find_root()
    raw: list[str] = (root.obj or {}).get("argv", [])
    if "--" in raw and "checkout" in raw[: raw.index("--")]:
        before = raw[raw.index("checkout") + 1 : raw.index("--")]
        positional = [word for word in before if not word.startswith("-")]
        if len(positional) > 1:
            raise UsageError("give at most one revision before --", "mlv checkout [REV] -- PATH...")
        if not positional:
            return None, args
        project.git.resolve(args[0])
        return args[0], args[1:]
    if not args:
        return None, []
    try:
        project.git.resolve(args[0])
    except UnknownRevision:
        return None, args
    return args[0], args[1:]
