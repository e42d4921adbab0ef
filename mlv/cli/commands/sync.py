from __future__ import annotations

from typing import Any

import click

from mlv.cli.output import RichProgress, human_size, json_option_help, out, print_json
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch as do_fetch
from mlv.core.remote.push import push as do_push
from mlv.core.remote.resolve import DEFAULT_JOBS, TransferResult
from mlv.core.restore.pull import pull as do_pull
from mlv.errors import CheckFailed, listing

remote_option = click.option(
    "-r",
    "--remote",
    "remote_name",
    default=None,
    metavar="NAME",
    help="The remote to use (default: the default remote).",
)
jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Parallel transfers.",
)
json_option = click.option("--json", "as_json", is_flag=True, help=json_option_help())


def result_json(result: TransferResult) -> dict[str, Any]:
    return {
        "remote": result.remote,
        "transferred": result.transferred,
        "bytes": result.bytes,
        "already_there": result.already_there,
        "missing": result.missing,
        "corrupt": result.corrupt,
        "complete": result.complete,
        "packs": result.packs,
        "format_raised": result.format_raised,
    }


def report(verb: str, result: TransferResult, as_json: bool, missing_where: str) -> int:
    if as_json:
        print_json(result_json(result))
    else:
        packs = f" in {result.packs} pack(s)" if result.packs else ""
        out().print(
            f"{verb} {result.transferred} object(s), {human_size(result.bytes)}{packs}; "
            f"{result.already_there} already there ({result.remote})",
            markup=False,
        )
        if result.format_raised:
            out().print(
                f"remote {result.remote} is now format 2 (it holds packs): an mlv that reads"
                " only format 1 cannot use it; to push one file per object instead, set"
                f" packs = false under [remotes.{result.remote}] in mlv.toml",
                markup=False,
            )
    if result.corrupt:
        raise CheckFailed(
            f"{len(result.corrupt)} object(s) from {result.remote} did not match their ids and "
            f"were refused: {listing(result.corrupt, 3)}",
            "the remote copy is corrupt: push it again from a clone that has it intact",
        )
    if result.missing:
        raise CheckFailed(
            f"{len(result.missing)} object(s) are missing {missing_where}: "
            f"{listing(result.missing, 3)}",
            "push them from a clone that has them (`mlv verify` lists what a store lacks)",
        )
    return 0


@click.command()
@click.argument("revs", nargs=-1, metavar="[REV...]")
@remote_option
@jobs_option
@click.option(
    "--loose",
    is_flag=True,
    help="One file per object (format 1), not packs: for a remote an older mlv also uses"
    " (or set packs = false on the remote in mlv.toml).",
)
@json_option
def push(
    revs: tuple[str, ...], remote_name: str | None, jobs: int, loose: bool, as_json: bool
) -> int:
    """Upload the objects REV... need (default: HEAD and the work tree's mlv.lock).

    Only objects the remote lacks are sent, in packs of up to 64 MiB; an interrupted push
    resumes where it stopped.
    """
    project = open_project()
    try:
        result = do_push(
            project,
            remote_name,
            list(revs) or None,
            jobs=jobs,
            progress=RichProgress(enabled=False if as_json else None),
            packed=False if loose else None,
        )
    finally:
        project.close()
    return report("pushed", result, as_json, "from the local store (cannot be pushed)")


@click.command()
@click.argument("revs", nargs=-1, metavar="[REV...]")
@remote_option
@jobs_option
@json_option
def fetch(revs: tuple[str, ...], remote_name: str | None, jobs: int, as_json: bool) -> int:
    """Download the objects REV... need into the store (default: HEAD and the work tree).

    Every download is re-hashed before it enters the store; a corrupt one is refused.
    """
    project = open_project()
    try:
        result = do_fetch(
            project,
            remote_name,
            list(revs) or None,
            jobs=jobs,
            progress=RichProgress(enabled=False if as_json else None),
        )
    finally:
        project.close()
    return report("fetched", result, as_json, "on the remote")


@click.command()
@click.argument("rev", required=False)
@remote_option
@jobs_option
@click.option("--force", is_flag=True, help="Let checkout discard unsaved work-tree changes.")
@json_option
def pull(rev: str | None, remote_name: str | None, jobs: int, force: bool, as_json: bool) -> int:
    """Fetch what REV needs (default: the work tree's mlv.lock), then check it out."""
    project = open_project()
    try:
        fetched, restored = do_pull(
            project,
            remote_name,
            rev,
            jobs=jobs,
            force=force,
            progress=RichProgress(enabled=False if as_json else None),
        )
    finally:
        project.close()
    code = report("fetched", fetched, as_json, "on the remote")
    if restored is not None and not as_json:
        out().print(
            f"{len(restored.written)} file(s) written, {len(restored.removed)} removed, "
            f"{restored.unchanged} already up to date"
        )
    return code
