from __future__ import annotations

import click

from mlv.cli.output import human_size, json_option_help, out, print_json
from mlv.core.gc import gc as do_gc
from mlv.core.project import open_project


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--all-branches", is_flag=True, help="Also keep what every branch needs.")
@click.option("--all-tags", is_flag=True, help="Also keep what every tag needs.")
@click.option("--all-commits", is_flag=True, help="Keep what any commit in history needs.")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def gc(dry_run: bool, all_branches: bool, all_tags: bool, all_commits: bool, as_json: bool) -> int:
    """Remove store objects that no kept revision needs (default: the work tree and HEAD).

    Objects on remotes are never touched. Use --all-branches/--all-tags/--all-commits to keep
    more history available for `mlv checkout REV` without fetching. A store shared by several
    work trees (cache_dir) keeps what each of them needs, and gc waits while another mlv
    process is using the store.
    """
    project = open_project()
    try:
        result = do_gc(
            project,
            dry_run=dry_run,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
        )
    finally:
        project.close()
    if as_json:
        print_json(
            {
                "dry_run": result.dry_run,
                "kept_objects": result.kept_objects,
                "removed_objects": result.removed_objects,
                "removed_bytes": result.removed_bytes,
                "other_worktrees": result.other_worktrees,
            }
        )
        return 0
    verb = "would remove" if dry_run else "removed"
    out().print(
        f"{verb} {result.removed_objects} object(s), {human_size(result.removed_bytes)};"
        f" kept {result.kept_objects}"
        + (
            f" (also for {result.other_worktrees} other work tree(s) sharing the store)"
            if result.other_worktrees
            else ""
        )
    )
    return 0
