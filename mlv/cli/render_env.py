"""Environment diffs for people: `mlv env diff`, and the summaries of status and reproduce."""

from __future__ import annotations

from mlv.cli.output import out
from mlv.core.env.diff import Change, EnvironmentDiff, describe_package


def diff_lines(result: EnvironmentDiff) -> list[str]:
    lines = []
    for change in (result.python, result.platform, result.release):
        if change is not None:
            lines.append(f"{change.name}: {change.old} -> {change.new}")
    groups: tuple[tuple[str, tuple[Change, ...]], ...] = (
        ("upgraded", result.upgraded),
        ("downgraded", result.downgraded),
        ("changed", result.changed),
        ("added", result.added),
        ("removed", result.removed),
    )
    for title, changes in groups:
        if changes:
            lines.append(f"packages {title} ({len(changes)}):")
            lines += [f"  {describe_package(c)}" for c in changes]
    if result.sources:
        lines.append("package sources:")
        lines += [f"  {c.name}: {c.old or 'index'} -> {c.new or 'index'}" for c in result.sources]
    for lockfile in result.lockfiles:
        lines.append(f"lockfile {lockfile.status}: {lockfile.name}")
        lines += [f"  {describe_package(c)}" for c in lockfile.pins or ()]
    for title, changes in (
        ("variables", result.variables),
        ("conda", result.conda),
        ("gpu", result.cuda),
    ):
        if changes:
            lines.append(f"{title}:")
            lines += [f"  {c.name}: {c.old} -> {c.new}" for c in changes]
    return lines


def render_diff(old: str, new: str, result: EnvironmentDiff) -> None:
    console = out()
    console.print(f"environment {old} -> {new}", markup=False)
    if result.same:
        console.print("no differences" + (" (kernel release only)" if result.release else ""))
    for line in diff_lines(result):
        console.print(line, markup=False)
