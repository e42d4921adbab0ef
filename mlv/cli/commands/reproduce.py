from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from mlv.cli.commands.env import installer_args, installer_options
from mlv.cli.output import RichProgress, err, json_option_help, out, print_json
from mlv.core.pipeline.reproduce import Options
from mlv.core.pipeline.reproduce import reproduce as do_reproduce
from mlv.core.project import open_project
from mlv.errors import UsageError
from mlv.model.reproduce import ReproduceReport
from mlv.render.junit import junit_xml
from mlv.storage.fsutil import write_bytes_atomic

_STYLE = {"identical": "green", "within tolerance": "cyan", "differs": "red", "missing": "red"}


def _tolerances(values: tuple[str, ...]) -> dict[str, float]:
    result = {}
    for value in values:
        name, sep, number = value.rpartition("=")
        try:
            result[name] = float(number)
        except ValueError:
            name = ""
        if not sep or not name or result.get(name, -1) < 0:
            raise click.BadParameter(
                f"{value!r} is not METRIC=ABS with ABS >= 0", param_hint="--tolerance"
            )
    return result


def environment_line(report: ReproduceReport) -> str:
    """Which environment the stages ran in, in one line."""
    used = report.environment_used
    fingerprint = str(used.get("fingerprint", ""))
    if used.get("kind") == "recorded":
        how = "rebuilt" if used.get("built") else "cached"
        python = report.environment.get("python")
        other = f", with {python[1]} instead of {python[0]}" if python else ""
        return f"environment: recorded {fingerprint} ({how}{other}, {used.get('path')})"
    drifted = (
        "differs from the recorded one" if report.environment.get("changed") else "as recorded"
    )
    return f"environment: current {fingerprint} ({drifted})"


def render(report: ReproduceReport) -> None:
    console = out()
    env = report.environment
    console.print(environment_line(report), markup=False)
    for note in report.environment_used.get("notes") or []:
        console.print(f"note: {note}", markup=False)
    if env.get("changed"):
        what = "rebuilt" if report.environment_used.get("kind") == "recorded" else "current"
        console.print(f"[yellow]the {what} environment differs from the recorded one:[/yellow]")
        console.print(f"  {env.get('summary', '')}", markup=False)
        if env.get("python"):
            console.print(f"  python {env['python'][0]} -> {env['python'][1]}", markup=False)
        if env.get("platform"):
            console.print(f"  platform {env['platform'][0]} -> {env['platform'][1]}", markup=False)
        for p in env.get("packages_changed", [])[:10]:
            console.print(f"  ~ {p['name']} {p['recorded']} -> {p['current']}", markup=False)
        for p in env.get("packages_added", [])[:10]:
            console.print(f"  + {p}", markup=False)
        for p in env.get("packages_removed", [])[:10]:
            console.print(f"  - {p}", markup=False)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("stage", "output", "verdict", "detail"):
        table.add_column(column)
    for stage in report.stages:
        for o in stage.outputs:
            style = _STYLE.get(o.verdict, "yellow")
            detail = o.explain() if o.verdict != "identical" else ""
            if not stage.inputs_matched and not o.ok:
                detail += " (inputs already differed)"
            table.add_row(stage.name, o.path, f"[{style}]{o.verdict}[/{style}]", detail)
    console.print(table)
    for stage in report.stages:
        if stage.marked_stale:
            console.print(
                f"stage {stage.name} was marked stale in {report.rev}:"
                f" {'; '.join(stage.marked_stale)}",
                markup=False,
            )
        if stage.exit_code not in (0, None):
            console.print(f"[red]stage {stage.name} failed with exit code {stage.exit_code}[/red]")
            for line in stage.log.splitlines()[-20:]:
                console.print(f"  | {line}", markup=False)
    outputs = [o for s in report.stages for o in s.outputs]
    if report.reproduced:
        console.print(
            f"[green]reproduced[/green]: {len(outputs)} output(s) of "
            f"{len(report.stages)} stage(s) match {report.rev} ({report.commit[:10]})"
        )
    else:
        bad = sum(1 for o in outputs if not o.ok)
        where = (
            f"; divergence began at stage {report.first_divergence}"
            if report.first_divergence
            else ""
        )
        console.print(f"[red]not reproduced[/red]: {bad} of {len(outputs)} output(s) differ{where}")
    if report.workdir:
        console.print(f"worktree kept at {report.workdir}")


@click.command()
@click.argument("rev", default="HEAD")
@click.option("--stage", default=None, metavar="S", help="Re-run only S and what it needs.")
@click.option(
    "--check",
    is_flag=True,
    help="CI mode: stage output is captured (shown only when a stage fails), and the "
    "report ends with one verdict line. The exit status says the result.",
)
@click.option(
    "--keep-workdir",
    is_flag=True,
    help="Keep the isolated worktree for inspection and print its path.",
)
@click.option(
    "--tolerance",
    "tolerances",
    multiple=True,
    metavar="METRIC=ABS",
    help="Accept a metric (name or file:name), or a table's numeric column (PATH:COLUMN), "
    "that moved by at most ABS.",
)
@click.option(
    "--env",
    "env",
    type=click.Choice(["current", "recorded"]),
    default="current",
    show_default=True,
    help="Run the stages in this environment, or in the one REV recorded, rebuilt once per"
    " fingerprint and cached (see `mlv env cache`).",
)
@installer_options
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JUnit XML report (one test case per output) to this file.",
)
def reproduce(
    rev: str,
    stage: str | None,
    check: bool,
    keep_workdir: bool,
    tolerances: tuple[str, ...],
    env: str,
    installer: str,
    python: Path | None,
    find_links: tuple[str, ...],
    index_url: str | None,
    extra_index_url: tuple[str, ...],
    no_index: bool,
    as_json: bool,
    junit: Path | None,
) -> int:
    """Re-run the pipeline recorded at REV (default HEAD) in isolation and prove it matches.

    The code is checked out into a temporary git worktree (with the recorded uncommitted patch
    applied), inputs come from the store, every stage re-runs, and each output is compared with
    its recorded id: identical, within tolerance (metrics), or differs. Your work tree and
    mlv.lock are never touched. Exit 0 when everything reproduced, 1 when anything differs.
    """
    if junit is not None and not junit.resolve().parent.is_dir():
        raise UsageError(
            f"cannot write the JUnit report: {junit.parent} is not a directory",
            "create the directory first, or give another --junit path",
        )
    options = Options(
        stage=stage,
        tolerances=_tolerances(tolerances),
        keep_workdir=keep_workdir,
        capture=check or as_json,
        env=env,
        installer=installer,
        installer_args=tuple(installer_args(find_links, index_url, extra_index_url, no_index)),
        python=python,
    )
    project = open_project()

    def event(kind: str, detail: str) -> None:
        if as_json:
            return
        if kind == "stage":
            err().print(f"[bold]re-running[/bold] {detail}")
        elif kind == "inputs":
            err().print(f"restoring inputs: {detail}")
        elif kind == "env":
            err().print(f"recorded environment: {detail}", markup=False)

    try:
        report = do_reproduce(
            project,
            rev,
            options,
            on_event=event,
            progress=RichProgress(enabled=False if as_json else None),
        )
    finally:
        project.close()
    if junit is not None:
        write_bytes_atomic(junit.resolve(), junit_xml(report), durable=False)
    if as_json:
        print_json(report.to_dict())
    else:
        render(report)
    return 0 if report.reproduced else 1
