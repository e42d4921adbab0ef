from __future__ import annotations

from typing import Any

import click

from mlv.cli.output import RichProgress, json_option_help, out, print_json
from mlv.core.env.drift import EnvDrift
from mlv.core.project import open_project
from mlv.core.record.status import DELETED, MODIFIED, NEW, ORPHANED, StatusReport
from mlv.core.record.status import status as do_status

_STYLE = {"unchanged": "green", "modified": "yellow", "deleted": "red", "missing": "red"}
_LISTED = 10  # changed files listed per artifact before "... and N more"


def report_json(report: StatusReport) -> dict[str, Any]:
    return {
        "stale": report.stale,
        "snapshotted": report.snapshotted,
        "artifacts": [
            {
                "path": a.path,
                "kind": a.kind,
                "state": a.state,
                "added": a.added,
                "modified": a.modified,
                "deleted": a.deleted,
            }
            for a in report.artifacts
        ],
        "stages": [
            {
                "name": s.name,
                "stale": s.stale,
                "reasons": s.reasons,
                "marked_stale": s.marked,
                "run_refuses": None if s.name not in report.refusals else _refusal(report, s.name),
            }
            for s in report.stages
        ],
        "environment": None if report.environment is None else report.environment.to_dict(),
        "code": None if report.code_changed is None else {"changed": report.code_changed},
    }


def _refusal(report: StatusReport, name: str) -> dict[str, Any]:
    refusal = report.refusals[name]
    return {"message": refusal.message, "hint": refusal.hint}


def _env_lines(drift: EnvDrift) -> list[str]:
    lines = []
    if drift.python:
        lines.append(f"python {drift.python[0]} -> {drift.python[1]}")
    if drift.platform:
        lines.append(f"platform {drift.platform[0]} -> {drift.platform[1]}")
    lines += [f"+ {p}" for p in drift.added]
    lines += [f"- {p}" for p in drift.removed]
    lines += [f"~ {n} {a} -> {b}" for n, a, b in drift.changed]
    lines += [f"lockfile changed: {name}" for name in drift.lockfiles]
    lines += [f"variable changed: {name}" for name in drift.variables]
    return lines


def render(report: StatusReport) -> None:
    console = out()
    if not report.artifacts:
        console.print("No tracked paths. Track one with `mlv track PATH`.")
    else:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("path")
        table.add_column("kind")
        table.add_column("state")
        table.add_column("details")
        for a in report.artifacts:
            details = ", ".join(
                f"{n} {word}"
                for n, word in (
                    (len(a.added), "added"),
                    (len(a.modified), "modified"),
                    (len(a.deleted), "deleted"),
                )
                if n
            )
            style = _STYLE.get(a.state, "yellow")
            table.add_row(a.path, a.kind, f"[{style}]{a.state}[/{style}]", details)
        console.print(table)
        for a in report.artifacts:
            changed = (
                [f"  + {a.path}/{p}" for p in a.added]
                + [f"  ~ {a.path}/{p}" for p in a.modified]
                + [f"  - {a.path}/{p}" for p in a.deleted]
            )
            for line in changed[:_LISTED]:
                console.print(line, markup=False)
            if len(changed) > _LISTED:
                console.print(f"  ... and {len(changed) - _LISTED} more in {a.path}")
    for s in report.stages:
        if s.stale:
            marked = ", marked so in mlv.lock" if s.marked else ""
            console.print(
                f"stage {s.name}: [yellow]stale[/yellow] ({'; '.join(s.reasons)}){marked}"
            )
        else:
            console.print(f"stage {s.name}: [green]up to date[/green]")
        refusal = report.refusals.get(s.name)
        if refusal is not None:
            console.print(f"  `mlv run` refuses: {refusal.message}", markup=False)
            if refusal.hint:
                console.print(f"  hint: {refusal.hint}", markup=False)
    if report.environment is not None:
        lines = _env_lines(report.environment)
        if lines:
            console.print(
                "environment: [yellow]differs from mlv.lock[/yellow]"
                f" ({report.environment.summary()}; `mlv env diff` shows all)"
            )
            for line in lines[:_LISTED]:
                console.print(f"  {line}", markup=False)
            if len(lines) > _LISTED:
                console.print(f"  ... and {len(lines) - _LISTED} more")
        else:
            console.print("environment: [green]as recorded[/green]")
    if report.code_changed is not None:
        console.print(
            "code: "
            + (
                "[yellow]changed since the snapshot[/yellow]"
                if report.code_changed
                else "[green]as recorded[/green]"
            )
        )
    steps = _next_steps(report)
    if steps:
        console.print(f"Next: {'; '.join(steps)}.", markup=False)


def _next_steps(report: StatusReport) -> list[str]:
    """Commands that work from here (a refused stage has its own hint above)."""
    steps = []
    if any(s.stale for s in report.stages) and not report.refusals:
        steps.append("`mlv run` runs the stale stages")  # a refusal would stop it
    states = {a.state for a in report.artifacts}
    if states & {MODIFIED, NEW, ORPHANED}:
        steps.append("`mlv snapshot` records the changed artifacts")
    if MODIFIED in states:
        steps.append("`mlv checkout --force PATH` discards a change")
    if DELETED in states:
        steps.append("`mlv checkout` restores what was deleted")
    return steps


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when a tracked path differs from mlv.lock (for scripts and hooks).",
)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def status(check: bool, as_json: bool) -> int:
    """Show how tracked paths, environment and code differ from mlv.lock.

    Unchanged files cost one stat each; only files whose size, mtime or inode changed are read.
    Environment and code drift are shown but do not fail --check (see `mlv reproduce`).
    """
    project = open_project()
    try:
        report = do_status(project, progress=RichProgress(enabled=False if as_json else None))
    finally:
        project.close()
    if as_json:
        print_json(report_json(report))
    else:
        render(report)
    return 1 if check and report.stale else 0
