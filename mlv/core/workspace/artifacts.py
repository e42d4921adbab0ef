"""Declared artifacts scanned, stored and recorded: the part of a snapshot that ``mlv run`` and
``mlv diff`` share.

Objects are stored before anything names them: a directory's levels as its scan folds them,
each after its files and its subdirectories' levels, so an existing level means everything
below it is stored too.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.workspace.scanner import Scan, Scanner, WorkFile
from mlv.errors import PathError
from mlv.model.ids import ObjectId
from mlv.model.manifest import ArtifactRecord, Kind, Lock
from mlv.model.stages import producers
from mlv.model.summary import table_format


def scan_declared(project: Project, scanner: Scanner, old: Lock) -> dict[str, Scan]:
    """Scan every declared artifact; a declared path that does not exist is an error."""
    scans: dict[str, Scan] = {}
    writers = producers(project.declarations.stages)
    for path in sorted(project.declarations.artifacts):
        scan = scanner.scan(path)
        if scan is None:
            # Only what mlv.lock records can be checked out; a stage's output can be made.
            ways = (
                [f"`mlv checkout {shlex.quote(path)}` restores it"] if path in old.artifacts else []
            )
            if path in writers:
                ways.append(f"`mlv run {shlex.quote(writers[path])}` writes it")
            ways.append(f"`mlv untrack {shlex.quote(path)}` stops tracking it")
            raise PathError(f"tracked path {path} does not exist", "; ".join(ways))
        scans[path] = scan
    return scans


def store_scans(
    project: Project, scans: list[Scan], jobs: int, progress: Progress = NULL_PROGRESS
) -> tuple[int, int]:
    """Put every file and tree object the scans name into the store; (objects, bytes) added.

    A directory's levels are stored as its scan folds them, each after its files and its
    subdirectories' levels, so an existing level means everything below it is stored too and an
    unchanged directory is not checked file by file (``mlv.core.workspace.dir_scan``).
    """
    store = project.store
    todo: dict[str, WorkFile] = {}
    added: dict[ObjectId, int] = {}  # stored while hashed (one read), by the file scans below
    in_dirs = in_dirs_bytes = 0  # stored by the directory scans (counted, not listed)
    for scan in scans:
        if scan.type == "dir":
            if scan.store is not store:  # read before without storing: read again, storing
                scan.reset()
                scan.store = store
            in_dirs += scan.built.stored
            in_dirs_bytes += scan.built.stored_bytes
            continue
        if scan.store is None and not scan.identified:
            scan.store, scan.added = store, added
        for f in scan.files:
            if f.id not in todo and f.id not in added and not store.exists(f.id):
                todo[f.id] = f
    files = list(todo.values())
    if files:
        progress.start("storing", sum(f.size for f in files), unit="bytes")

        def put(f: WorkFile) -> None:
            store.add_file(project.abspath(f.relpath), f.id, display=f.relpath)
            progress.advance(f.size)

        try:
            with ThreadPoolExecutor(jobs) as pool:
                batched_map(pool, put, sorted(files, key=lambda f: -f.size), lambda f: f.size)
        finally:
            progress.finish()
    objects = len(files) + len(added) + in_dirs
    return objects, sum(f.size for f in files) + sum(added.values()) + in_dirs_bytes


def artifact_record(kind: Kind, scan: Scan) -> ArtifactRecord:
    if scan.type == "file":
        f = scan.files[0]
        return ArtifactRecord(
            kind=kind, type="file", id=f.id, size=f.size, files=1, executable=f.executable
        )
    return ArtifactRecord(
        kind=kind, type="dir", id=scan.object_id(), size=scan.size, files=scan.count
    )


def table_files(project: Project, scans: Iterable[Scan]) -> dict[str, tuple[ObjectId, int]]:
    """The tabular files among scanned artifacts: repository path -> (id, size). Only the
    levels holding one are read (the walk noted their names)."""
    found: dict[str, tuple[ObjectId, int]] = {}
    for scan in scans:
        if scan.type == "file":
            if table_format(scan.path) is not None:
                f = scan.files[0]
                found[f.relpath] = (f.id, f.size)
            continue
        paths = [f"{scan.path}/{rel}" for rel in scan.built.tables]
        for path, entry in scan.entries_at(paths, project.store.read_bytes).items():
            found[path] = (entry.id, entry.size)
    return found
