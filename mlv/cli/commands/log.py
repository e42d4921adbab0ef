from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from mlv.cli.output import human_size, json_option_help, out, print_json
from mlv.core.history.log import LogEntry
from mlv.core.history.log import log as do_log
from mlv.core.project import open_project
from mlv.errors import UsageError


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
@click.option("--metrics", "with_metrics", is_flag=True, help="A column per metric (table view).")
@click.option("--params", "with_params", is_flag=True, help="A column per param (table view).")
@click.option(
    "--metric",
    "metric_names",
    multiple=True,
    metavar="NAME",
    help="Only this metric (full name or the key after ':'); repeatable. Implies --metrics.",
)
@click.option(
    "--param",
    "param_names",
    multiple=True,
    metavar="NAME",
    help="Only this param (full name or the key after ':'); repeatable. Implies --params.",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print the params/metrics table as CSV.")
def log(
    limit: int | None,
    as_json: bool,
    with_metrics: bool,
    with_params: bool,
    metric_names: tuple[str, ...],
    param_names: tuple[str, ...],
    as_csv: bool,
) -> int:
    """List the snapshots in git history (commits that changed mlv.lock), newest first.

    With --metrics and/or --params: one row per snapshot, a column per metric and param, a
    value that changed since the snapshot before marked with '*'.
    """
    with_metrics = with_metrics or bool(metric_names)
    with_params = with_params or bool(param_names)
    if as_json and as_csv:
        raise UsageError("--json and --csv cannot be used together", "choose one output format")
    if with_metrics or with_params or as_csv:
        from mlv.cli.commands.experiments import show_experiments

        return show_experiments(
            limit,
            params=(param_names or None) if with_params else [],
            metrics=(metric_names or None) if with_metrics else [],
            fmt="json" if as_json else ("csv" if as_csv else "table"),
        )
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
