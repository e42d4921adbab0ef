"""``mlv reproduce`` on tabular outputs: explain how a reproduced table differs from the recorded
one, and accept it within per-column tolerances — for a table file, and for the tables inside an
output directory (compared file by file through the two tree objects)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlv.core.objects.trees import load_tree
from mlv.core.project import Project
from mlv.core.workspace.scanner import Scan
from mlv.errors import MlvError
from mlv.model.reproduce import WITHIN_TOLERANCE, DirComparison, FileTable, OutputVerdict
from mlv.model.summary import table_format

# At most this many differing tables of one output directory are compared value by value; the
# others count as changed files (the output then differs).
MAX_DIR_TABLES = 200


def judge_table(
    project: Project,
    verdict: OutputVerdict,
    reproduced: Path,
    tolerances: Mapping[str, float],
    tolerable: bool,
) -> None:
    """Say how a reproduced table differs, when the recorded version is in the store; within
    its columns' tolerances it is accepted (unless the record is a kept hand edit)."""
    if not project.store.exists(verdict.recorded):
        return
    from mlv.core.tables.exact import compare_tables

    reader = table_format(verdict.path) or ""
    recorded = project.store.readable(verdict.recorded)
    verdict.table = compare_tables(project, verdict.path, recorded, reproduced, reader, tolerances)
    if tolerable and verdict.table.within:
        verdict.verdict = WITHIN_TOLERANCE


def judge_directory(
    project: Project,
    verdict: OutputVerdict,
    scan: Scan,
    tolerances: Mapping[str, float],
    tolerable: bool,
) -> None:
    """Say which files of a reproduced directory differ, and how its tables differ.

    Needs the recorded tree object in the store (otherwise the verdict stays plain). A table is
    compared when its recorded version is in the store too; tolerances are keyed by the file's
    path from the repository root (``features/part-0.parquet:score``). The directory is within
    tolerance only if every differing file is a table within its tolerances.
    """
    if not project.store.exists(verdict.recorded):
        return
    try:
        recorded = load_tree(project.store.read_bytes, verdict.recorded).by_path()
    except MlvError:
        return  # not a readable tree (damaged store): the plain verdict says enough
    from mlv.core.tables.exact import compare_tables

    cut = len(verdict.path) + 1
    now = {f.relpath[cut:]: f for f in scan.files}
    result = DirComparison(
        added=[f"{verdict.path}/{p}" for p in sorted(now.keys() - recorded.keys())],
        removed=[f"{verdict.path}/{p}" for p in sorted(recorded.keys() - now.keys())],
    )
    for rel in sorted(now.keys() & recorded.keys()):
        old, new = recorded[rel], now[rel]
        if old.id == new.id and old.executable == new.executable:
            continue
        path = f"{verdict.path}/{rel}"
        reader = table_format(rel)
        if (
            old.id == new.id  # only the executable bit changed
            or not reader
            or not project.store.exists(old.id)
            or len(result.tables) >= MAX_DIR_TABLES
        ):
            result.changed.append(path)
            continue
        table = compare_tables(
            project, path, project.store.readable(old.id), scan.scanner.root / new.relpath,
            reader, tolerances,
        )  # fmt: skip
        result.tables.append(FileTable(path, table))
    verdict.files = result
    if tolerable and result.within:
        verdict.verdict = WITHIN_TOLERANCE
