from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from mlv.cli.output import human_size, json_option_help, out, print_json
from mlv.core.history import LogEntry
from mlv.core.history import log as do_log
from mlv.core.project import open_project


def entry_json(e: LogEntry) -> dict[str, Any]:
    lock = e.lock
    return {
        "commit": e.commit,
        "date": e.date,
        "author": e.author,
        "subject": e.subject,
        "problem": e.problem,
        "artifacts": None if lock is None else len(lock.artifacts),
        "size": None if lock is None else sum(a.size for a in lock.artifacts.values()),
        "dirty_code": None if lock is None or lock.code is None else lock.code.dirty,
        "environment": None
        if lock is None or lock.environment is None
        else lock.environment.fingerprint,
    }


@click.command()
@click.option(
    "-n",
    "--max-count",
    "limit",
    type=click.IntRange(min=1),
    default=None,
    help="Show at most this many snapshots.",
)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def log(limit: int | None, as_json: bool) -> int:
    """List the snapshots in git history (commits that changed mlv.lock), newest first."""
    project = open_project()
    try:
        entries = do_log(project, limit)
    finally:
        project.close()
    if as_json:
        print_json([entry_json(e) for e in entries])
        return 0
    if not entries:
        out().print("No snapshots yet. Make one with `mlv snapshot -m MESSAGE`.")
        return 0
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("commit", "date", "artifacts", "size", "env", "message"):
        table.add_column(column)
    for e in entries:
        if e.lock is None:
            artifacts, size, env = "-", "-", e.problem or "mlv.lock removed"
        else:
            artifacts = str(len(e.lock.artifacts))
            size = human_size(sum(a.size for a in e.lock.artifacts.values()))
            env = e.lock.environment.fingerprint.short if e.lock.environment else "-"
            if e.lock.code is not None and e.lock.code.dirty:
                env += " (uncommitted code)"
        table.add_row(e.commit[:10], e.date[:19].replace("T", " "), artifacts, size, env, e.subject)
    out().print(table)
    return 0
