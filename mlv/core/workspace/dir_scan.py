"""The streaming scan of a tracked directory: one format 2 tree level per directory.

Directories are walked one at a time; each is reduced to a fingerprint of its own files' stat
identities and compared with its record in the stat cache (``StatCache.dir_records``). When it
and its subdirectories' entries match the record, the record's level id stands for the
directory and nothing of it is kept. A directory that moved has its files' ids looked up in
the stat cache (by path, that directory only) and the rest hashed on a thread pool shared by
the whole scan, so directories are hashed in parallel while the walk goes on. A level is
folded (encoded, and with a store, stored after its files and subdirectories) once its
subdirectories are folded: the store holds a level only when it holds everything below it.
"""

from __future__ import annotations

import marshal
import os
import stat
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from mlv.core.progress import Progress
from mlv.errors import PathError
from mlv.model.ids import ObjectId
from mlv.model.paths import check_relpath, find_collision, names_git_dir, same_file_message
from mlv.model.summary import TABLE_SUFFIXES
from mlv.model.tree import encode_node
from mlv.storage.hashing import hash_file
from mlv.storage.ingest import hash_and_add
from mlv.storage.state import Clock, DirRecord, DirRow, StatCache, StatKey
from mlv.storage.store import ObjectStore

# One file of a directory being folded: name, inode, size, mtime_ns, ctime_ns, executable, dev.
_File = tuple[str, int, int, int, int, bool, int]
_IN_FLIGHT = 20_000  # files hashed ahead of the fold before the walk waits for the oldest
_BATCH = 256  # files per hashing task (a future per small file costs more than its hash)
_Done = tuple[list[ObjectId], int, int]  # a task's ids, and the objects and bytes it stored


def _fingerprint(files: list[_File]) -> str:
    """A digest of the files' (name, inode, size, mtime_ns, ctime_ns, executable, dev), sorted:
    one serialisation per directory (marshal version 2: exact for str, int and bool, and
    without the back-references of later versions, which depend on reference counts)."""
    return xxhash.xxh3_128_hexdigest(marshal.dumps(files, 2))


def _plain(joined: str) -> bool:
    """Whether every name of a directory passes ``check_relpath``, checked at once: joined by
    '/' below the directory's path, since a name holds no '/' and the rules are per component
    (or per character) beyond the path's start, which is the directory's."""
    try:
        check_relpath(joined)
    except PathError:
        return False
    return True


def reject(kind: str, relpath: str) -> PathError:
    return PathError(
        f"{relpath} is a {kind}; mlv tracks regular files and directories only",
        "replace it by the file it stands for, or move it out of the tracked path",
    )


@dataclass(slots=True)
class _Dir:
    rel: str  # relative to the artifact, '' for its top
    name: str
    parent: _Dir | None
    files: list[_File]  # emptied once the level is known
    fp: str  # the fingerprint of its own files' stat identities
    trusted: bool
    waiting: int = 0  # subdirectories not folded yet
    subs: list[tuple[str, str, int, int]] = field(default_factory=list)
    ids: list[ObjectId | None] = field(default_factory=list)  # beside ``files`` when resolved
    jobs: list[tuple[list[int], Future[_Done]]] = field(default_factory=list)


@dataclass
class Built:
    """A directory's format 2 tree: its top level's id and totals, the levels made this time
    (without a store to put them in), and the table-like files seen (relative paths)."""

    id: ObjectId
    files: int
    size: int
    levels: dict[str, bytes]
    tables: list[str]
    hashed: int = 0  # bytes read to hash files whose stat cache entry did not match
    stored: int = 0  # objects new to the store (files and levels)
    stored_bytes: int = 0


class DirBuilder:
    """Builds the format 2 tree of one tracked directory (see the module docstring)."""

    def __init__(
        self,
        state: StatCache,
        root: str,
        path: str,
        clock: Clock,
        jobs: int,
        progress: Progress,
        store: ObjectStore | None = None,
    ) -> None:
        self.state, self.root, self.path, self.clock = state, root, path, clock
        self.jobs, self.progress = jobs, progress
        self.store = store
        self.stored = self.stored_bytes = 0  # objects new to the store, and their bytes
        self.records: dict[str, DirRecord] = state.dir_records(path)
        self.rows: list[DirRow] = []
        self.levels: dict[str, bytes] = {}
        self.tables: list[str] = []
        self.ready: deque[_Dir] = deque()  # subdirectories folded, own files known or known soon
        self.blocked: deque[_Dir] = deque()  # the same, waiting for hashing
        self.in_flight = 0
        self.result: tuple[ObjectId, int, int] | None = None
        self.hashed = 0
        self.seen: set[str] = set()  # every directory walked

    def build(self) -> Built:
        self.progress.start("scanning", None, unit="files")
        self.pool = ThreadPoolExecutor(self.jobs)
        try:
            stack: list[tuple[str, str, _Dir | None]] = [("", "", None)]
            while stack:
                rel, name, parent = stack.pop()
                d, subdirs = self._walk(rel, name, parent)
                for sub in reversed(subdirs):
                    stack.append((f"{rel}/{sub}" if rel else sub, sub, d))
                if not subdirs:
                    self._enqueue(d)
                self._drain(wait=False)
                while self.in_flight > _IN_FLIGHT and self.blocked:
                    self._drain(wait=True)  # bounded memory: the walk waits for the hashing
            while self.ready or self.blocked:
                self._drain(wait=True)
        finally:
            # Interrupted: queued hashing is dropped (what is stored stays complete).
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.progress.finish()
        if self.rows or self.records.keys() - self.seen:
            # Directories gone since are forgotten in the same transaction.
            self.state.record_dirs(self.path, self.rows, self.records.keys() - self.seen)
        assert self.result is not None
        oid, files, size = self.result
        return Built(
            oid, files, size, self.levels, self.tables, self.hashed, self.stored, self.stored_bytes
        )

    def _walk(self, rel: str, name: str, parent: _Dir | None) -> tuple[_Dir, list[str]]:
        """Read one directory: its files' stat identities and its subdirectories' names."""
        where = f"{self.path}/{rel}" if rel else self.path
        self.seen.add(rel)
        files: list[_File] = []
        subdirs: list[str] = []
        with os.scandir(os.path.join(self.root, where)) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    kind = "symbolic link" if stat.S_ISLNK(st.st_mode) else "special file"
                    raise reject(kind, f"{where}/{entry.name}")
                files.append(
                    (
                        entry.name,
                        st.st_ino,
                        st.st_size,
                        st.st_mtime_ns,
                        st.st_ctime_ns,
                        bool(st.st_mode & 0o100),
                        st.st_dev,
                    )
                )
                dot = entry.name.rfind(".")
                if dot >= 0 and entry.name[dot:].lower() in TABLE_SUFFIXES:
                    self.tables.append(f"{rel}/{entry.name}" if rel else entry.name)
        files.sort()
        subdirs.sort()
        d = _Dir(rel, name, parent, files, _fingerprint(files), self._trusted(files), len(subdirs))
        record = self.records.get(rel)
        moved = record is None or not d.trusted or record.fingerprint != d.fp
        if moved or subdirs:
            # Before any of it is read: a name no tree may hold stores nothing of its directory.
            self._check_names(d, [f[0] for f in files] if moved else [], subdirs)
        if moved:
            self._resolve(d)  # its own files moved: start hashing them now
        return d, subdirs

    def _trusted(self, files: list[_File]) -> bool:
        """Whether every file's mtime is before the clock of its file system (not racy)."""
        if not files:
            return True
        stamp = self.clock.stamp
        devs = {f[6] for f in files}
        if len(devs) == 1:  # the usual case: one comparison for the directory
            return max(f[3] for f in files) < stamp(devs.pop())
        return all(f[3] < stamp(f[6]) for f in files)

    def _resolve(self, d: _Dir) -> None:
        """Start finding the ids of ``d``'s files: the stat cache, else hashing on the pool
        (with a store, files it lacks are stored by the same task)."""
        if d.ids or not d.files:
            return
        prefix = f"{self.path}/{d.rel}/" if d.rel else f"{self.path}/"
        cached = self.state.load_paths([prefix + f[0] for f in d.files])
        lookup = StatCache.lookup_key
        todo: list[int] = []
        store = self.store
        for i, f in enumerate(d.files):
            oid = lookup(cached, prefix + f[0], f[1], f[2], f[3], f[4])
            d.ids.append(oid)
            if oid is None or (store is not None and not store.exists(oid)):
                todo.append(i)
        for start in range(0, len(todo), _BATCH):
            part = todo[start : start + _BATCH]
            items = [(prefix + d.files[i][0], d.files[i][2], d.ids[i]) for i in part]
            d.jobs.append((part, self.pool.submit(self._hash_batch, items)))
            self.in_flight += len(part)

    def _hash_batch(self, items: list[tuple[str, int, ObjectId | None]]) -> _Done:
        """Runs on the pool: the id of each (path, size, known id or None); with a store, each
        file the store lacks is stored (counted)."""
        out = []
        store = self.store
        count = total = 0
        root = self.root + "/"
        for rel, size, known in items:
            src = root + rel
            if store is None:
                out.append(hash_file(src))
                continue
            if known is None:
                oid, new = hash_and_add(store, src, size)
            else:
                oid, new = known, False
            if not new and not store.exists(oid):
                store.add_file(Path(src), oid, display=rel)
                new = True
            if new:
                count, total = count + 1, total + size
            out.append(oid)
        return out, count, total

    def _enqueue(self, d: _Dir) -> None:
        (self.blocked if d.jobs else self.ready).append(d)

    def _drain(self, *, wait: bool) -> None:
        """Fold every directory that can be; with ``wait``, the oldest hashing one too."""
        while True:
            if self.ready:
                self._fold(self.ready.popleft())
            elif self.blocked and (wait or all(job.done() for _, job in self.blocked[0].jobs)):
                self._fold(self.blocked.popleft())
                wait = False
            else:
                return

    def _fold(self, d: _Dir) -> None:
        """Know ``d``'s level id (from its record, or by encoding it) and pass it up."""
        subs = sorted(d.subs)
        hasher = xxhash.xxh3_128()
        for name, oid, n, size in subs:
            hasher.update(b"%s\0%s\0%d\0%d\n" % (name.encode(), oid.encode(), n, size))
        subs_print = hasher.hexdigest()
        record = self.records.get(d.rel)
        store = self.store
        if (
            record is not None
            and d.trusted
            and record.fingerprint == d.fp
            and record.subs == subs_print
            and (store is None or (record.stored and store.exists(record.id)))
        ):
            oid, count, total = record.id, record.files, record.size
        else:
            oid, count, total = self._make_level(d, subs, subs_print)
        self.progress.advance(len(d.files))
        d.files, d.ids, d.subs = [], [], []
        parent = d.parent
        if parent is None:
            self.result = (oid, count, total)
            return
        parent.subs.append((d.name, str(oid), count, total))
        parent.waiting -= 1
        if parent.waiting == 0:
            self._enqueue(parent)

    def _make_level(
        self, d: _Dir, subs: list[tuple[str, str, int, int]], subs_print: str
    ) -> tuple[ObjectId, int, int]:
        self._resolve(d)  # an unchanged directory whose subdirectories changed
        stamp = self.clock.stamp
        record = self.state.record
        prefix = self._repo_path(d, "")
        files, ids = d.files, d.ids
        for part, job in d.jobs:
            done, count, total = job.result()
            self.stored, self.stored_bytes = self.stored + count, self.stored_bytes + total
            for i, oid in zip(part, done, strict=True):
                f = files[i]
                if ids[i] is None:
                    self.hashed += f[2]
                ids[i] = oid
                record(prefix + f[0], StatKey(f[1], f[2], f[3], f[4]), oid, stamp(f[6]))
            self.in_flight -= len(part)
        rows = [(f[0], str(oid), f[2], f[5]) for f, oid in zip(d.files, d.ids, strict=True)]
        data = encode_node(rows, subs)
        oid = ObjectId.xxh128(xxhash.xxh3_128_hexdigest(data))
        count = len(rows) + sum(s[2] for s in subs)
        total = sum(f[2] for f in d.files) + sum(s[3] for s in subs)
        if self.store is not None:
            if not self.store.exists(oid):  # after its files (above) and subdirectories
                self.store.add_bytes(data)
                self.stored, self.stored_bytes = self.stored + 1, self.stored_bytes + len(data)
            kept = None
        else:
            self.levels[d.rel] = data
            kept = data
        fingerprint = d.fp if d.trusted else ""
        self.rows.append((d.rel, fingerprint, subs_print, oid, count, total, kept))
        return oid, count, total

    def _repo_path(self, d: _Dir, name: str) -> str:
        return f"{self.path}/{d.rel}/{name}" if d.rel else f"{self.path}/{name}"

    def _check_names(self, d: _Dir, files: list[str], subdirs: list[str]) -> None:
        """PathError for a name that a tree may not hold (``files`` of ``d`` that moved, and its
        subdirectories): checked before a level is made, so a tree that checkout would refuse
        is never written. Unchanged names were checked when they were first recorded."""
        names = files + subdirs
        if names and _plain(self._repo_path(d, "/".join(names))):
            names = []  # all of them pass (the usual case): no error to name
        for name in names:
            rel = self._repo_path(d, name)
            try:
                check_relpath(rel)
            except PathError as exc:
                hint = (
                    f"a nested git repository cannot be tracked: move it out of {self.path}"
                    if names_git_dir(rel)
                    else f"rename it, or move it out of {self.path}"
                )
                raise PathError(exc.message, hint) from None
        if not subdirs and not files:
            return
        every = [f[0] for f in d.files] + subdirs
        if all(n.isascii() for n in every) and len({n.lower() for n in every}) == len(every):
            return  # names of one directory are distinct: no two fold to one
        collision = find_collision(every)
        if collision is not None:
            prefix = f"{self.path}/{d.rel}/" if d.rel else f"{self.path}/"
            raise PathError(
                same_file_message("files", (prefix + collision[0], prefix + collision[1])),
                "rename one of them; mlv keeps snapshots portable (docs/decisions.md)",
            )
