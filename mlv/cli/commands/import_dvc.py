from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from mlv.cli.output import RichProgress, human_size, json_option_help, out, print_json
from mlv.core.dvc.adopt import import_dvc as do_import
from mlv.core.dvc.plan import ImportResult


def result_json(result: ImportResult) -> dict[str, Any]:
    return {
        "dry_run": result.dry_run,
        "written": result.written,
        "artifacts": [
            {
                "path": a.path,
                "kind": a.kind,
                "type": a.record.type,
                "id": a.record.id,
                "size": a.record.size,
                "files": a.record.files,
                "source": a.source,
                "from_workspace": a.from_workspace,
            }
            for a in result.artifacts
        ],
        "stages": [
            {
                "name": s.name,
                "dvc": s.dvc_name,
                "cmd": s.decl.cmd,
                "recorded": s.recorded,
                "note": s.note,
            }
            for s in result.stages
        ],
        "skipped": [{"what": s.what, "reason": s.reason} for s in result.skipped],
    }


@click.command("import-dvc")
@click.option("--dry-run", is_flag=True, help="Read and check everything; write nothing.")
@click.option("--json", "as_json", is_flag=True, help=json_option_help())
def import_dvc(dry_run: bool, as_json: bool) -> int:
    """Adopt a DVC project: .dvc files become artifacts, dvc.yaml stages become stages, and
    dvc.lock becomes mlv.lock records; data moves from DVC's cache into mlv's store, its MD5
    checked on the way. What cannot be mapped is listed with the reason. DVC's files stay as
    they are. Needs DVC's library: pip install 'mlv-cli[dvc]'.
    """
    result = do_import(dry_run=dry_run, progress=RichProgress(enabled=False if as_json else None))
    if as_json:
        print_json(result_json(result))
        return 0
    console = out()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("path", "kind", "type", "size", "files", "from"):
        table.add_column(column)
    for a in result.artifacts:
        table.add_row(
            a.path, a.kind, a.record.type, human_size(a.record.size), str(a.record.files), a.source
        )
    console.print(table)
    for s in result.stages:
        state = "recorded" if s.recorded else "declared, no record"
        named = s.name if s.dvc_name in ("", s.name) else f"{s.name} (DVC {s.dvc_name})"
        line = f"stage {named}: {state} — {s.decl.cmd}"
        console.print(line + (f" ({s.note})" if s.note else ""), markup=False)
    taken = sum(a.from_workspace for a in result.artifacts)
    if taken:
        console.print(
            f"{taken} file(s) were not in DVC's cache and came from the work tree"
            " (their MD5 matched dvc.lock)"
        )
    if result.skipped:
        console.print(f"not imported ({len(result.skipped)}):")
        for skipped in result.skipped:
            console.print(f"  {skipped.what}: {skipped.reason}", markup=False)
    if result.dry_run:
        console.print("dry run: nothing was written")
    else:
        console.print(
            "wrote mlv.toml and mlv.lock. Next: `mlv status`, then"
            ' `mlv snapshot -m "adopt DVC project"` to commit them with environment and code.'
        )
    return 0
