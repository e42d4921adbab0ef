from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from mlv.cli.output import out
from mlv.core.project import open_project
from mlv.core.report.gather import ReportOptions, build_report
from mlv.errors import UsageError
from mlv.render.report.page import render_report
from mlv.storage.fsutil import write_bytes_atomic


@click.command()
@click.argument("revs", nargs=-1, metavar="[REV...]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option(
    "-n",
    "--max-count",
    "limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Without REV: this many of the last snapshots of the current branch.",
)
@click.option(
    "--compare",
    nargs=2,
    metavar="A B",
    default=None,
    help="Show drift and the environment diff between these two revisions "
    "(default: the last two selected snapshots).",
)
@click.option("--open", "open_it", is_flag=True, help="Open the report in the web browser.")
@click.option(
    "--no-fetch",
    is_flag=True,
    help="Do not fetch missing table summaries from the default remote.",
)
def report(
    revs: tuple[str, ...],
    output: Path,
    limit: int,
    compare: tuple[str, str] | None,
    open_it: bool,
    no_fetch: bool,
) -> int:
    """Write a self-contained HTML report: metrics and params across snapshots as charts,
    drift between two snapshots, the lineage graph and the environment diff.

    \b
    mlv report                        the last 20 snapshots of the current branch
    mlv report v1 v2 v3 -o out.html   these snapshots
    mlv report --compare HEAD~3 HEAD  drift between these two
    """
    target = output.resolve()
    if not target.parent.is_dir():
        raise UsageError(
            f"cannot write the report: {output.parent} is not a directory",
            "create the directory first, or give another -o path",
        )
    project = open_project()
    try:
        options = ReportOptions(revs=revs, limit=limit, compare=compare, fetch=not no_fetch)
        data = build_report(project, options)
    finally:
        project.close()
    page = render_report(data).encode()
    write_bytes_atomic(target, page, durable=False)
    out().print(f"wrote {output} ({len(page) / 1024:.0f} KiB)", markup=False)
    if open_it:
        webbrowser.open(target.as_uri())
    return 0
