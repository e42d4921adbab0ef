from __future__ import annotations

import click

from mlv.cli.output import RichProgress, json_option_help, out, print_json
from mlv.core.project import open_project
from mlv.core.remote.repair import RepairResult
from mlv.core.remote.repair import repair as do_repair
from mlv.core.store.verify import VerifyResult
from mlv.core.store.verify import verify as do_verify
from mlv.model.ids import ObjectId


@click.command()
@click.option(
    "--remote",
    "remote_name",
    default=None,
    metavar="NAME",
    help="Also check that every object HEAD needs exists on this remote.",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Replace corrupt and missing objects with whole copies from the remote.",
)
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def verify(remote_name: str | None, repair: bool, as_json: bool) -> int:
    """Re-hash every object in the store; report corrupt ones and missing referenced ones.

    With --remote, also check the remote has everything HEAD needs (a CI gate before merge).
    With --repair, fetch whole copies of exactly the corrupt and missing objects from the
    remote (--remote NAME, or the default one), then check again.
    Exit 1 when anything is corrupt or missing.
    """
    project = open_project()
    repaired: RepairResult | None = None
    try:
        def check() -> VerifyResult:
            return do_verify(
                project,
                remote_name=remote_name,
                check_remote=remote_name is not None,
                progress=RichProgress(enabled=False if as_json else None),
            )

        result = check()
        damaged = {ObjectId.parse(o) for o in result.corrupt + result.missing}
        if repair and damaged:
            repaired = do_repair(project, damaged, remote_name)
            result = check()
    finally:
        project.close()
    if repaired is not None and not as_json:
        out().print(
            f"repaired {len(repaired.repaired)} object(s) from remote {repaired.remote}"
            f" ({repaired.refetched} downloaded); {len(repaired.unrepaired)} could not be",
            markup=False,
        )
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "corrupt": result.corrupt,
                "missing": result.missing,
                "not_trees": result.not_trees,
                "damaged_indexes": result.damaged_indexes,
                "remote": result.remote,
                "remote_checked": result.remote_checked,
                "remote_missing": result.remote_missing,
                "repaired": repaired.repaired if repaired else [],
                "unrepaired": repaired.unrepaired if repaired else [],
                "refetched": repaired.refetched if repaired else 0,
            }
        )
        return 0 if result.ok else 1
    console = out()
    console.print(
        f"checked {result.checked} object(s): {len(result.corrupt)} corrupt, "
        f"{len(result.missing)} referenced but missing locally"
    )
    for oid in result.corrupt[:20]:
        console.print(f"  corrupt: {oid}", markup=False)
    for oid in result.missing[:20]:
        console.print(f"  missing: {oid}", markup=False)
    for oid in result.not_trees[:20]:
        console.print(f"  named as a directory but not a tree object: {oid}", markup=False)
    for name in result.damaged_indexes:
        console.print(f"  damaged pack index (its objects are unreadable): {name}", markup=False)
    if result.remote is not None:
        console.print(
            f"remote {result.remote}: {result.remote_checked} object(s) needed by HEAD,"
            f" {len(result.remote_missing)} missing"
        )
        for oid in result.remote_missing[:20]:
            console.print(f"  missing on {result.remote}: {oid}", markup=False)
    if not result.ok:
        console.print(
            "hint: `mlv fetch` / `mlv push` fill gaps; `mlv verify --repair` replaces corrupt"
            " objects with whole copies from the remote"
            + (
                "; an mlv.lock naming a file as a directory was not written by mlv: restore it"
                " from git"
                if result.not_trees
                else ""
            )
        )
    return 0 if result.ok else 1
