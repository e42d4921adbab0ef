"""Writing a checkout's files: each from the store, verified, to a temporary name renamed into
place (``ObjectStore.export``), in batches on a thread pool, and remembered in the stat cache so
the next scan does not read them again. A corrupt object is refused and listed; the other files
are still written.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlv.core.parallel import batched_map
from mlv.core.progress import Progress
from mlv.core.project import Project
from mlv.errors import CorruptObject
from mlv.model.ids import ObjectId
from mlv.storage.state import Proofs, StatCache, StatKey


@dataclass(frozen=True, slots=True)
class Target:
    relpath: str
    id: ObjectId
    size: int
    executable: bool


def _clear_dir(path: Path) -> None:
    """Remove a directory that holds only (possibly nested) empty directories."""
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda w: -len(w[0])):
        os.rmdir(dirpath)


def _materialise(
    project: Project, target: Target, hardlink: bool, proofs: Proofs
) -> os.stat_result | None:
    """Write one file from the store into the work tree, verified, atomically; the linked
    object's stat when it was hard-linked (see ``ObjectStore.export``)."""
    dst = project.abspath(target.relpath)
    if dst.is_dir() and not dst.is_symlink():
        _clear_dir(dst)  # its files were removed as planned; a file takes its place
    return project.store.export(
        target.id,
        dst,
        project.tmp_dir,
        executable=target.executable,
        hardlink=hardlink,
        proven=lambda st: StatCache.proven(proofs, target.id, st),
    )


class FileWriter:
    """Writes batches of files, verified, and remembers their stat for the next scan."""

    def __init__(self, project: Project, jobs: int, progress: Progress) -> None:
        self.project = project
        self.jobs = jobs
        self.progress = progress
        self.started = project.state.clock()
        self.hardlink = project.settings.link == "hardlink"
        # Objects verified by an earlier hard-linked checkout are linked unread while unchanged.
        self.proofs: Proofs = project.state.proofs() if self.hardlink else {}
        self.corrupt: list[tuple[str, CorruptObject]] = []  # appended from worker threads
        self.written: list[str] = []
        self.bytes = 0
        self.made: set[str] = set()

    def write(self, batch: list[Target]) -> None:
        project, store = self.project, self.project.store
        for target in batch:
            parent = target.relpath.rpartition("/")[0]
            if parent and parent not in self.made:
                (project.root / parent).mkdir(parents=True, exist_ok=True)
                self.made.add(parent)
        batch.sort(key=lambda t: store.placement(t.id))  # packs read front to back
        linked: list[tuple[ObjectId, os.stat_result]] = []  # appended from worker threads

        def one(target: Target) -> os.stat_result | None:
            try:
                object_stat = _materialise(project, target, self.hardlink, self.proofs)
            except CorruptObject as exc:  # refused, never placed: the other files still are
                self.corrupt.append((str(target.id), exc))
                return None
            self.progress.advance(target.size)
            if object_stat is not None:
                linked.append((target.id, object_stat))
            return os.stat(project.abspath(target.relpath))

        with ThreadPoolExecutor(self.jobs) as pool:
            keys = batched_map(pool, one, batch, lambda t: t.size)
        done = [t for t, k in zip(batch, keys, strict=True) if k is not None]
        self.remember(done, [k for k in keys if k is not None])
        for oid, st in linked:
            project.state.record_proof(oid, st, self.started.stamp(st.st_dev))
        self.written.extend(t.relpath for t in done)
        self.bytes += sum(t.size for t in done)
        project.state.flush()  # one transaction per batch: the rows are not all held

    def remember(self, targets: list[Target], stats: list[os.stat_result]) -> None:
        """Files mlv just wrote have known content. Remembered as of the moment writing began,
        so the racy-clean rule applies: an edit landing in the same timestamp tick as our
        write is caught by one re-read at the next scan."""
        for target, st in zip(targets, stats, strict=True):
            self.project.state.record(
                target.relpath, StatKey.of(st), target.id, self.started.stamp(st.st_dev)
            )
