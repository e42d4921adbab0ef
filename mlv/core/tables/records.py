"""Where summaries live: objects in the store, named from mlv.lock by the table's path.

A summary depends only on the bytes of its file, so it is computed once per file id: the store
keeps a small index (``<store>/tables/<version>/<algorithm>/<fan-out>/<rest>``, the summary's id
as text) beside the objects, shared by every clone that shares the store; a manifest's own
records are reused too. The index is a cache: a lost or damaged entry costs one recomputation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.tables.summarise import summarise
from mlv.core.workspace.scanner import Scan
from mlv.errors import MlvError
from mlv.model.ids import ObjectId
from mlv.model.manifest import TableRecord
from mlv.model.paths import is_within
from mlv.model.summary import SUMMARY_FORMAT, TableSummary, decode_summary, table_format
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.store import ObjectStore

INDEX_DIR = "tables"
# Bumped when the summariser changes what it computes, so old index entries are not reused.
SUMMARISER_VERSION = f"{SUMMARY_FORMAT}.2"


def _index_path(store: ObjectStore, file_id: ObjectId, reader: str) -> Path:
    # Keyed by the reader too: the same bytes named .csv and .tsv are two different tables.
    digest = file_id.digest
    version = store.root / INDEX_DIR / SUMMARISER_VERSION
    return version / reader / file_id.algorithm / digest[:2] / digest[2:]


def indexed(store: ObjectStore, file_id: ObjectId, reader: str) -> ObjectId | None:
    """The summary id the index holds for ``file_id`` read by ``reader``, if its object is in
    the store."""
    try:
        text = _index_path(store, file_id, reader).read_text(encoding="ascii").strip()
        summary_id = ObjectId.parse(text)
    except (OSError, UnicodeDecodeError, MlvError):
        return None
    return summary_id if store.exists(summary_id) else None


def store_summary(store: ObjectStore, summary: TableSummary) -> ObjectId:
    """Put a summary into the store and the index; its id."""
    summary_id = store.add_bytes(summary.encode())
    path = _index_path(store, summary.file, summary.reader)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A cache entry: no fsync (a damaged entry is recomputed), but never a partial one.
    write_bytes_atomic(path, str(summary_id).encode(), durable=False, tmp_dir=store.root / "tmp")
    return summary_id


def load_summary(store: ObjectStore, summary_id: ObjectId) -> TableSummary:
    """A summary object from the store (MissingObjects or CorruptObject when it is not there)."""
    from mlv.model.summary import MAX_SUMMARY_BYTES

    return decode_summary(store.read_bytes(summary_id, max_size=MAX_SUMMARY_BYTES))


def summary_of(store: ObjectStore, path: Path, file_id: ObjectId, reader: str) -> ObjectId:
    """The id of the summary of ``file_id`` (whose bytes are at ``path``): indexed or computed."""
    found = indexed(store, file_id, reader)
    if found is not None:
        return found
    return store_summary(store, summarise(path, file_id, reader))


def scanned_tables(scans: Iterable[Scan]) -> dict[str, tuple[ObjectId, int]]:
    """The tabular files among scanned artifacts: repository path -> (id, size)."""
    return {
        f.relpath: (f.id, f.size)
        for scan in scans
        for f in scan.files
        if table_format(f.relpath) is not None
    }


def outside(records: Mapping[str, TableRecord], paths: Iterable[str]) -> dict[str, TableRecord]:
    """The records of tables that lie in none of ``paths``."""
    inside = list(paths)
    return {p: r for p, r in records.items() if not any(is_within(p, d) for d in inside)}


def table_records(
    project: Project,
    files: Mapping[str, tuple[ObjectId, int]],
    previous: Mapping[str, TableRecord],
    *,
    progress: Progress = NULL_PROGRESS,
) -> dict[str, TableRecord]:
    """The table records of ``files`` (path -> (id, size), stored): one per summarised table.

    A file already summarised (in ``previous`` or in the store's index) is not read again.
    """
    config = project.declarations.tables
    if not config.summaries or not files:
        return {}
    known = {(r.file, table_format(p)): r.summary for p, r in previous.items()}
    records: dict[str, TableRecord] = {}
    todo: list[tuple[str, ObjectId, str]] = []
    for path, (file_id, size) in sorted(files.items()):
        if not config.wants(path, size):
            continue
        reader = table_format(path) or ""
        summary_id = known.get((file_id, reader))
        if summary_id is None or not project.store.exists(summary_id):
            summary_id = indexed(project.store, file_id, reader)
        if summary_id is not None:
            records[path] = TableRecord(file_id, summary_id)
        elif project.store.exists(file_id):
            todo.append((path, file_id, reader))
    if todo:
        progress.start("summarising tables", len(todo))

        def work(item: tuple[str, ObjectId, str]) -> tuple[str, TableRecord]:
            path, file_id, reader = item
            object_path = project.store.readable(file_id)
            summary_id = summary_of(project.store, object_path, file_id, reader)
            progress.advance(1)
            return path, TableRecord(file_id, summary_id)

        try:
            jobs = min(len(todo), project.settings.jobs or os.cpu_count() or 1, 4)
            with ThreadPoolExecutor(jobs) as pool:
                records.update(pool.map(work, todo))
        finally:
            progress.finish()
    return dict(sorted(records.items()))


def prune_index(store: ObjectStore) -> int:
    """Drop index entries whose summary object is gone (after gc); how many."""
    root = store.root / INDEX_DIR
    if not root.is_dir():
        return 0
    dropped = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                summary_id = ObjectId.parse(path.read_text(encoding="ascii").strip())
                if store.exists(summary_id):
                    continue
            except (OSError, UnicodeDecodeError, MlvError):
                pass  # unreadable: as good as gone
            path.unlink(missing_ok=True)
            dropped += 1
    return dropped
