from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from mlv.cli.output import RichProgress, human_size, json_option_help, out, print_json, warn
from mlv.core.project import open_project
from mlv.core.record.snapshot import SnapshotResult
from mlv.core.record.snapshot import snapshot as do_snapshot


def result_json(result: SnapshotResult) -> dict[str, Any]:
    env = result.lock.environment
    code = result.lock.code
    return {
        "commit": result.commit,
        "lock_changed": result.lock_changed,
        "objects_added": result.objects_added,
        "bytes_added": result.bytes_added,
        "artifacts": [
            {
                "path": c.path,
                "kind": c.record.kind,
                "type": c.record.type,
                "id": c.record.id,
                "size": c.record.size,
                "files": c.record.files,
                "change": c.change,
            }
            for c in result.artifacts
        ],
        "environment": None if env is None else {"fingerprint": env.fingerprint},
        "code": None
        if code is None
        else {"commit": code.commit, "tree": code.tree, "patch": code.patch},
        "warnings": result.warnings,
        "stages": [
            {"name": s.name, "stale": s.stale, "marked_stale": s.marked, "reasons": s.reasons}
            for s in result.stages
        ],
        "dropped_stages": result.dropped_stages,
    }


def stage_lines(result: SnapshotResult) -> list[str]:
    """What the snapshot says about stages: marked stale, still stale, dropped."""
    lines = []
    for s in result.stages:
        if s.marked:
            lines.append(
                f"stage {s.name}: marked stale in mlv.lock ({'; '.join(s.marked)}): its record"
                " describes an earlier run, not these artifacts; `mlv run` re-runs it"
            )
        elif s.stale:
            lines.append(f"stage {s.name}: stale ({'; '.join(s.reasons)}); `mlv run` runs it")
    lines += [
        f"stage {name}: no longer declared in mlv.toml; its record is dropped"
        for name in result.dropped_stages
    ]
    return lines


@click.command()
@click.option("-m", "--message", help="Commit message (default: 'mlv snapshot').")
@click.option("--no-commit", is_flag=True, help="Write mlv.lock but leave committing to you.")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def snapshot(message: str | None, no_commit: bool, as_json: bool) -> int:
    """Store every tracked artifact, record environment and code, and commit mlv.lock.

    The commit also carries what you had staged and mlv's own files (mlv.toml, .gitignore).
    Uncommitted changes to tracked code are stored as a patch so the run stays reproducible.
    """
    project = open_project()
    try:
        result = do_snapshot(
            project,
            message=message,
            commit=not no_commit,
            progress=RichProgress(enabled=False if as_json else None),
        )
    finally:
        project.close()
    if as_json:
        print_json(result_json(result))
        return 0
    for w in result.warnings:
        warn(w)
    console = out()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("path", "kind", "id", "size", "files", "change"):
        table.add_column(column)
    for c in result.artifacts:
        table.add_row(
            c.path,
            c.record.kind,
            f"{c.record.id.algorithm}:{c.record.id.short}",
            human_size(c.record.size),
            str(c.record.files),
            c.change,
        )
    if result.artifacts:
        console.print(table)
    for line in stage_lines(result):
        console.print(line, markup=False)
    console.print(f"stored {result.objects_added} new object(s), {human_size(result.bytes_added)}")
    if result.commit:
        console.print(f"committed snapshot {result.commit[:10]}")
    elif not no_commit:
        console.print("nothing changed since the last snapshot; no commit made")
    else:
        console.print("wrote mlv.lock" if result.lock_changed else "mlv.lock is up to date")
    return 0
