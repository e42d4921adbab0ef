from __future__ import annotations

import dataclasses
import sys

import click

from mlv.cli.output import RichProgress, human_size, json_option_help, out, print_json, warn
from mlv.core.objects.kept import Scope
from mlv.core.project import open_project
from mlv.core.remote.gc import gc_remote
from mlv.core.store.gc import GcResult, Unbacked
from mlv.core.store.gc import gc as do_gc
from mlv.errors import UsageError


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("-w", "--workspace", is_flag=True, help="Keep the work tree's mlv.lock and HEAD.")
@click.option("-a", "--all-branches", is_flag=True, help="Keep what every branch tip needs.")
@click.option("-T", "--all-tags", is_flag=True, help="Keep what every tag needs.")
@click.option(
    "-A", "--all-commits", is_flag=True, help="Keep what every commit of every ref needs."
)
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Also remove committed history that no remote holds (narrowed scope only).",
)
@click.option(
    "--remote",
    "remote_name",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help="Repack this remote (default: the default remote) instead of the local store.",
)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def gc(
    dry_run: bool,
    workspace: bool,
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    force: bool,
    remote_name: str | None,
    as_json: bool,
) -> int:
    """Remove store objects that no kept revision needs.

    By default gc keeps everything any git revision still reaches: every branch, tag,
    remote-tracking branch, stash and reflog entry, the index and the work tree. It then
    removes only objects no revision needs at all.

    To free more, name what to keep with --workspace, --all-branches, --all-tags and
    --all-commits (any combination; the work tree and HEAD are always kept). Objects
    committed history still needs but that no declared remote holds are then kept, and
    counted, unless you pass --force (in a terminal, gc asks). Push first to free them
    safely. A store shared by several work trees (cache_dir) keeps what each of them needs,
    and gc waits while another mlv process is using the store.

    With --remote [NAME], gc touches the remote only: it deletes its packs that hold nothing
    any revision of this clone needs and rewrites those mostly dead (run `git fetch` first so
    that the other clones' branches count). Packs written in the last 24 hours are left alone.
    """
    scope = Scope(workspace, all_branches, all_tags, all_commits)
    if remote_name is not None:
        if scope.narrowed or force:
            raise UsageError(
                "--remote keeps what any revision needs; scope flags and --force apply to the"
                " local store only",
                "run `mlv gc --remote` without them",
            )
        return _gc_remote(remote_name or None, dry_run, as_json)
    if force and not scope.narrowed:
        raise UsageError(
            "--force applies to a narrowed scope only; the default scope removes nothing"
            " that any revision needs",
            "add --workspace, --all-branches, --all-tags or --all-commits to say what to keep",
        )
    asked: list[Unbacked] = []  # the question already named the remotes that were not checked

    def ask(unbacked: Unbacked) -> bool:
        asked.append(unbacked)
        return _ask(unbacked)

    project = open_project()
    try:
        result = do_gc(
            project,
            scope,
            dry_run=dry_run,
            force=force,
            confirm=ask if sys.stdin.isatty() else None,
            progress=RichProgress(enabled=False if as_json else None),
        )
    finally:
        project.close()
    if not asked:
        _warn_unchecked(result.unreachable_remotes)
    if as_json:
        print_json(
            {
                "dry_run": result.dry_run,
                "scope": result.scope,
                "kept_objects": result.kept_objects,
                "removed_objects": result.removed_objects,
                "removed_bytes": result.removed_bytes,
                "other_worktrees": result.other_worktrees,
                "unbacked_objects": result.unbacked_objects,
                "unbacked_bytes": result.unbacked_bytes,
                "unbacked_removed": result.unbacked_removed,
                "unreachable_remotes": sorted(result.unreachable_remotes),
            }
        )
    else:
        _report(result)
    return 0


def _gc_remote(name: str | None, dry_run: bool, as_json: bool) -> int:
    project = open_project()
    try:
        result = gc_remote(project, name, dry_run=dry_run)
    finally:
        project.close()
    if as_json:
        print_json(dataclasses.asdict(result))
        return 0
    verb = "would remove" if dry_run else "removed"
    packs = len(result.deleted_packs) + len(result.rewritten_packs)
    out().print(
        f"remote {result.remote}: {verb} {result.removed_objects} object(s),"
        f" {human_size(result.removed_bytes)}; {packs} pack(s) deleted or rewritten"
        f" into {len(result.new_packs)}; packs {human_size(result.bytes_before)}"
        f" -> {human_size(result.bytes_after)}",
        markup=False,
    )
    if result.young_packs:
        out().print(f"left {result.young_packs} pack(s) written in the last 24 hours as they are")
    for stem in result.damaged_packs:
        warn(f"pack {stem} holds a damaged object: left as it is (see `mlv verify --remote`)")
    return 0


def _warn_unchecked(remotes: dict[str, str]) -> None:
    for name, why in sorted(remotes.items()):
        warn(f"remote {name} could not be checked ({why}); counted as holding nothing")


def _ask(unbacked: Unbacked) -> bool:
    _warn_unchecked(unbacked.unreachable_remotes)
    return click.confirm(
        f"{unbacked.objects} object(s), {human_size(unbacked.bytes)}, that committed history"
        " needs are on no remote; remove them anyway?",
        default=False,
        err=True,
    )


def _report(result: GcResult) -> None:
    verb = "would remove" if result.dry_run else "removed"
    scope = "all history" if result.scope == ["history"] else ", ".join(result.scope)
    out().print(
        f"{verb} {result.removed_objects} object(s), {human_size(result.removed_bytes)};"
        f" kept {result.kept_objects} ({scope}"
        + (
            f"; also for {result.other_worktrees} other work tree(s) sharing the store)"
            if result.other_worktrees
            else ")"
        )
    )
    if not result.unbacked_objects:
        return
    amount = f"{result.unbacked_objects} object(s), {human_size(result.unbacked_bytes)},"
    if result.unbacked_removed:
        warn(f"{verb} {amount} of committed history that no remote holds")
        return
    warn(
        f"{'would keep' if result.dry_run else 'kept'} {amount} that committed history needs"
        " and no remote holds; push the revisions that need them (`mlv push REV...`) and run"
        " gc again, or pass --force to remove them"
    )
