from __future__ import annotations

import sys
import webbrowser
from pathlib import Path

import click

from mlv.cli.output import out, warn
from mlv.core.history.report import ReportOptions, build_report
from mlv.core.project import open_project
from mlv.errors import UsageError
from mlv.render.report.page import render_report
from mlv.storage.fsutil import write_bytes_atomic


@click.command()
@click.argument("revs", nargs=-1, metavar="[REV...]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="report.html",
    show_default=True,
    help="The HTML file to write; - writes the page to stdout.",
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
    output: str,
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
    mlv report -o - > page.html       the page on stdout
    """
    target = None if output == "-" else _target(output)
    project = open_project()
    try:
        options = ReportOptions(revs=revs, limit=limit, compare=compare, fetch=not no_fetch)
        data = build_report(project, options)
    finally:
        project.close()
    page = render_report(data).encode()
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
        if open_it:
            warn("--open: the report went to stdout, there is no file to open")
        return 0
    try:
        write_bytes_atomic(target, page, durable=False)
    except OSError as exc:
        raise _cannot_write(output, exc.strerror or str(exc)) from None
    out().print(f"wrote {output} ({len(page) / 1024:.0f} KiB)", markup=False)
    if open_it and not webbrowser.open(target.as_uri()):
        warn(f"no web browser could be started: open {target} yourself")
    return 0


def _cannot_write(output: str, why: str) -> UsageError:
    return UsageError(
        f"cannot write the report to {output or repr(output)}: {why}",
        "give -o a file in a directory you can write, or -o - for stdout",
    )


def _target(output: str) -> Path:
    """The file ``-o`` names, checked before the report is built: a file name (not a
    directory) in an existing directory."""
    if not output.strip():
        raise _cannot_write(output, "the file name is empty")
    target = Path(output).resolve()
    if target.is_dir():
        raise _cannot_write(output, "it is a directory")
    if not target.parent.is_dir():
        raise UsageError(
            f"cannot write the report: {Path(output).parent} is not a directory",
            "create the directory first, or give another -o path",
        )
    return target
