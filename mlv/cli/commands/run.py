from __future__ import annotations

import click

from mlv.cli.output import RichProgress, err, out
from mlv.core.pipeline.run import run as do_run
from mlv.core.project import open_project


@click.command()
@click.argument("stages", nargs=-1, metavar="[STAGE...]")
@click.option("--force", is_flag=True, help="Run the stages even when they are up to date.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide as a run would (which stages run and why, or the refusal); run nothing.",
)
def run(stages: tuple[str, ...], force: bool, dry_run: bool) -> int:
    """Run the stale stages (all, or STAGE... and what they need) in dependency order.

    A stage is stale when it never ran, or its command, a dependency, a param value or an
    output differs from mlv.lock. Each successful stage is recorded in mlv.lock at once:
    commands, dependency and output ids, params, metrics, timing and the environment.
    Outputs edited by hand and not recorded in mlv.lock are not replaced without --force.
    """
    project = open_project()

    def event(kind: str, name: str, detail: str) -> None:
        if kind == "run":
            err().print(f"[bold]running[/bold] {name} ({detail})")
        elif kind == "done":
            err().print(f"[green]done[/green] {name} in {detail}")
        elif kind == "skip":
            out().print(f"{name}: up to date, skipped")
        elif kind == "would run":
            out().print(f"{name}: would run ({detail})")

    try:
        result = do_run(
            project,
            list(stages) or None,
            force=force,
            dry_run=dry_run,
            on_event=event,
            progress=RichProgress(),
        )
    finally:
        project.close()
    if not dry_run:
        out().print(f"{len(result.ran)} stage(s) ran, {len(result.skipped)} up to date")
        if result.ran:
            out().print("Next: mlv snapshot -m MESSAGE to commit the results")
    return 0
