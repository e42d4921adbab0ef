from __future__ import annotations

import click
import msgspec
from rich.table import Table

from mlv.cli.output import human_size, json_option_help, out, print_json
from mlv.core.history.log import show as do_show
from mlv.core.project import open_project


@click.command()
@click.argument("rev", required=False)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def show(rev: str | None, as_json: bool) -> int:
    """Show what a snapshot recorded: artifacts, environment, code.

    REV is any git revision (default: the work tree's mlv.lock). --json prints the manifest
    itself, as stored in mlv.lock, under "lock".
    """
    project = open_project()
    try:
        shown = do_show(project, rev)
    finally:
        project.close()
    lock = shown.lock
    if as_json:
        print_json(
            {"rev": shown.rev, "commit": shown.commit, "lock": msgspec.json.decode(lock.encode())}
        )
        return 0
    console = out()
    console.print(
        f"snapshot: {shown.commit or 'work tree mlv.lock'}"
        + (f" ({shown.rev})" if shown.rev else "")
    )
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    for column in ("path", "kind", "type", "id", "size", "files"):
        table.add_column(column)
    for path, a in sorted(lock.artifacts.items()):
        table.add_row(path, a.kind, a.type, str(a.id), human_size(a.size), str(a.files))
    console.print(table)
    env = lock.environment
    if env is not None:
        console.print(
            f"environment: {env.fingerprint} — {env.python.implementation} {env.python.version}"
            f" on {env.platform.system}-{env.platform.machine}, {len(env.packages)} packages"
        )
        for name, oid in sorted(env.lockfiles.items()):
            console.print(f"  lockfile {name}: {oid}", markup=False)
        for name, value in sorted(env.variables.items()):
            console.print(f"  {name}={value}", markup=False)
    code = lock.code
    if code is not None:
        state = ("uncommitted changes" if code.dirty else "committed") + (
            f", patch {code.patch}" if code.patch else ""
        )
        console.print(f"code: commit {code.commit or '(none)'}, tree {code.tree} ({state})")
    if lock.stages:
        stages = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("stage", "command", "started", "duration", "params", "metrics"):
            stages.add_column(column)
        for name, s in sorted(lock.stages.items(), key=lambda item: item[1].started):
            stages.add_row(
                name,
                s.cmd,
                s.started,
                f"{s.duration:.2f} s",
                "\n".join(f"{k}={v}" for k, v in sorted(s.params.items())),
                "\n".join(f"{k}={v}" for k, v in sorted(s.metrics.items())),
            )
        console.print(stages)
    return 0
