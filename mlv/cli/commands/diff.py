from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mlv.cli.output import human_size, json_option_help, out, print_json, warn
from mlv.core.history.diff import DiffOptions, check_failures
from mlv.core.history.diff import diff as do_diff
from mlv.core.project import open_project
from mlv.errors import UsageError
from mlv.model.diff import ArtifactDiff, DiffReport, TableDiff

_DRIFT = {"ok": "green", "warn": "yellow", "alert": "red"}


def _split(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Revisions and paths: what follows a literal `--` is a path."""
    root = click.get_current_context().find_root()
    raw: list[str] = (root.obj or {}).get("argv", [])
    if "--" not in raw or "diff" not in raw[: raw.index("--")]:
        revs, paths = list(args), []
    else:
        before = raw[raw.index("diff") + 1 : raw.index("--")]
        count, skip = 0, False
        for word in before:
            if skip:
                skip = False
            elif word == "--key":
                skip = True
            elif not word.startswith("-"):
                count += 1
        revs, paths = list(args[:count]), list(args[count:])
    if len(revs) > 2:
        raise UsageError(
            f"at most two revisions, got {len(revs)}: {' '.join(revs)}",
            "put paths after --: mlv diff [REV_A [REV_B]] -- PATH...",
        )
    return revs, paths


@click.command()
@click.argument("args", nargs=-1, metavar="[REV_A [REV_B]] [-- PATH...]")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
@click.option(
    "--files", is_flag=True, help="List the files added, removed or modified in directories."
)
@click.option(
    "--key",
    default=None,
    metavar="COL[,COL]",
    help="Diff the rows of tables matched by these key columns (both versions must be local).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when a column's drift reaches alert or a table's schema changed "
    "([tables] check in mlv.toml chooses).",
)
@click.option(
    "--no-fetch",
    is_flag=True,
    help="Do not fetch missing table summaries and directory listings from the default remote.",
)
def diff(
    args: tuple[str, ...], as_json: bool, files: bool, key: str | None, check: bool, no_fetch: bool
) -> int:
    """Show what changed between two versions: artifacts, params, metrics and tables.

    \b
    mlv diff                      HEAD against the work tree
    mlv diff REV                  REV against the work tree
    mlv diff REV_A REV_B          two revisions (their data need not be local)
    mlv diff HEAD~1 HEAD -- data  only what lies under data

    Tables (CSV, TSV, Parquet, Feather/Arrow, JSON Lines) show schema, row count, per-column
    statistics and drift (PSI, thresholds in [tables] of mlv.toml; KS where both are local).
    """
    revs, paths = _split(args)
    keys = tuple(k.strip() for k in key.split(",") if k.strip()) if key else ()
    if key is not None and not keys:
        raise click.BadParameter("give one or more column names", param_hint="--key")
    project = open_project()
    try:
        options = DiffOptions(
            old=revs[0] if revs else None,
            new=revs[1] if len(revs) > 1 else None,
            paths=tuple(paths),
            files=files,
            key=keys,
            fetch=not no_fetch,
        )
        report = do_diff(project, options)
        if check:
            report.check_failures = check_failures(report, project)
    finally:
        project.close()
    if as_json:
        print_json(report.to_dict())
    else:
        render(report, files)
    return 1 if check and report.check_failures else 0


def _change(old: Any, new: Any) -> str:
    return f"{_fmt(old)} -> {_fmt(new)}"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _artifact_row(a: ArtifactDiff) -> list[str]:
    size = _change(
        human_size(a.old_size) if a.old_size is not None else None,
        human_size(a.new_size) if a.new_size is not None else None,
    )
    detail = ""
    if a.files is not None:
        detail = f"+{a.files.added} -{a.files.removed} ~{a.files.modified} files"
    elif a.type == "dir":
        detail = f"{_change(a.old_files, a.new_files)} files (listing not available)"
    return [a.path, a.change, size, detail]


def render(report: DiffReport, files: bool) -> None:
    console = out()
    console.print(f"diff {report.old} -> {report.new}", markup=False)
    for message in report.warnings:
        warn(message)
    if report.empty:
        console.print("no changes")
    if report.artifacts:
        table = Table(box=None, pad_edge=False, header_style="bold", title="artifacts")
        for column in ("path", "change", "size", "files"):
            table.add_column(column)
        for a in report.artifacts:
            table.add_row(*map(Text, _artifact_row(a)))  # paths are data, not markup
        console.print(table)
        if files:
            for a in report.artifacts:
                for change, mark in (("added", "+"), ("removed", "-"), ("modified", "~")):
                    for path in (a.files.paths or {}).get(change, []) if a.files else []:
                        console.print(f"  {mark} {a.path}/{path}", markup=False)
    for title, values in (("params", report.params), ("metrics", report.metrics)):
        if not values:
            continue
        table = Table(box=None, pad_edge=False, header_style="bold", title=title)
        for column in ("stage", "name", "old", "new", "delta", "relative"):
            table.add_column(column)
        for v in values:
            rel = f"{v.relative:+.2%}" if v.relative is not None else ""
            delta = f"{v.delta:+.6g}" if v.delta is not None else ""
            table.add_row(*map(Text, (v.stage, v.name, _fmt(v.old), _fmt(v.new), delta, rel)))
        console.print(table)
    for t in report.tables:
        _render_table(t)
    for failure in report.check_failures:
        console.print(f"[red]check failed[/red]: {escape(failure)}")  # names come from the data


def _render_table(t: TableDiff) -> None:
    console = out()
    rows = ""
    if t.old_rows is not None or t.new_rows is not None:
        rows = f", rows {_change(t.old_rows, t.new_rows)}"
        if t.old_rows and t.new_rows is not None:
            rows += f" ({(t.new_rows - t.old_rows) / t.old_rows:+.1%})"
    console.print(f"\ntable {t.path}: {t.change}{rows}", markup=False)
    for side, reason in zip(("old", "new"), t.opaque, strict=True):
        if reason:
            console.print(f"  {side} version is opaque: {reason}", markup=False)
    if t.note:
        console.print(f"  note: {t.note}", markup=False)
    shown = [c for c in t.columns if c.change != "unchanged" or c.drift != "ok"]
    if shown:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("column", "change", "type", "statistics", "PSI", "drift", "KS"):
            table.add_column(column)
        for c in shown:
            kind = c.new_type or c.old_type or ""
            if c.change == "retyped":
                kind = f"{c.old_type} -> {c.new_type}"
            stats = "; ".join(f"{k} {_change(*v)}" for k, v in c.stats.items())
            style = _DRIFT[c.drift]
            table.add_row(
                Text(c.name),  # names and values come from the data: never read as markup
                c.change,
                Text(kind),
                Text(stats),
                "" if c.psi is None else f"{c.psi:.3f}",
                f"[{style}]{c.drift}[/{style}]" if c.psi is not None else "",
                "" if c.ks is None else f"{c.ks:.3f}",
            )
        console.print(table)
    if t.rows is not None:
        r = t.rows
        cols = ", ".join(f"{c} {n}" for c, n in r.changed_columns.items())
        console.print(
            f"  rows by {','.join(r.key)}: +{r.added} added, -{r.removed} removed,"
            f" ~{r.changed} changed{f' ({cols})' if cols else ''}, {r.unchanged} unchanged",
            markup=False,
        )
        if any(r.duplicate_keys):
            console.print(
                f"  duplicate keys: {r.duplicate_keys[0]} old, {r.duplicate_keys[1]} new",
                markup=False,
            )
        for s in r.sample:
            key = ", ".join(f"{k}={v}" for k, v in s["key"].items())
            detail = "; ".join(f"{c} {o} -> {n}" for c, (o, n) in s.get("columns", {}).items())
            console.print(f"    {s['change']} {key}{': ' + detail if detail else ''}", markup=False)
