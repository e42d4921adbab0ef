"""Reading tracked paths in the work tree: one walk, one stat per file, hashing only what changed.

Ids come from the stat cache when a file's (inode, size, mtime) is unchanged; the rest are hashed
in parallel threads (the hash and the reads release the GIL). A directory is scanned as a stream
of directories (``workspace.dir_scan``): each is one level of a format 2 tree, remembered in the
stat cache under a fingerprint of its files' stat identities, so an unchanged directory costs its
stats and one lookup and a change costs the directories it touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.workspace.dir_scan import Built, DirBuilder, reject
from mlv.errors import MissingObjects
from mlv.model.ids import ObjectId
from mlv.model.tree import (
    EMPTY_NODE,
    TreeEntry,
    decode_node,
    encode_tree,
    split_tree,
    tree_format,
)
from mlv.storage.fsutil import check_no_symlink_parents
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.ingest import hash_and_add
from mlv.storage.state import Clock, StatCache, StatKey
from mlv.storage.store import ObjectStore

Found = tuple[str, os.stat_result]  # a regular file: path relative to the root, its lstat
Read = Callable[[ObjectId], bytes]
_NO_CLOCK = Clock(-1, 0, 0)  # every file racy: a single file's scan never reads its clock
_EMPTY_ID = hash_bytes(EMPTY_NODE)
LEGACY = "format1:"  # ``StatCache.trees`` key prefix: a format 2 tree's format 1 twin


@dataclass(frozen=True, slots=True)
class WorkFile:
    """A file in the work tree with its content id."""

    relpath: str  # relative to the repository root
    id: ObjectId
    size: int
    executable: bool


@dataclass(slots=True)
class Scan:
    """What a tracked path holds now: a single file, or a directory of files.

    A directory is read when first asked for its id or totals (``built``), one directory at a
    time; ``files`` (a flat list of every file) is made only for the small callers that ask.
    """

    path: str
    type: str  # "file" or "dir"
    stat: os.stat_result
    scanner: Scanner
    clock: Clock  # read before the walk
    # Set by a snapshot before the ids are resolved: each file hashed is stored from the same
    # read, and each level after what it names (``added``: the objects new to the store).
    store: ObjectStore | None = None
    added: dict[ObjectId, int] | None = None
    _files: list[WorkFile] | None = None
    _empty_dirs: list[str] | None = None
    _built: Built | None = None

    @property
    def built(self) -> Built:
        """The directory's format 2 tree (see ``mlv.core.workspace.dir_scan``)."""
        if self._built is None:
            assert self.type == "dir"
            self._built = DirBuilder(
                self.scanner.state,
                str(self.scanner.root),
                self.path,
                self.clock,
                self.scanner.jobs,
                self.scanner.progress,
                self.store,
            ).build()
        return self._built

    def reset(self) -> None:
        """Forget what was read, so the next question reads the directory again."""
        self._files = self._empty_dirs = self._built = None

    @property
    def size(self) -> int:
        return self.stat.st_size if self.type == "file" else self.built.size

    @property
    def count(self) -> int:
        return 1 if self.type == "file" else self.built.files

    @property
    def identified(self) -> bool:
        """Whether the content ids are resolved already."""
        return self._files is not None or self._built is not None

    @property
    def files(self) -> list[WorkFile]:
        """Every file with its id, sorted: for small callers only (a list of every file)."""
        if self._files is None:
            if self.type == "file":
                found: list[Found] = [(self.path, self.stat)]
            else:
                found, self._empty_dirs = [], []
                _walk(self.scanner.root, self.path, found, self._empty_dirs)
            self._files = self.scanner.identify(self.path, found, self.store, self.added)
        return self._files

    @property
    def empty_dirs(self) -> list[str]:
        """The directories holding nothing, relative to the artifact (small callers only)."""
        if self._empty_dirs is None:
            found: list[Found] = []
            self._empty_dirs = []
            if self.type == "dir":
                _walk(self.scanner.root, self.path, found, self._empty_dirs)
        return self._empty_dirs

    def object_id(self) -> ObjectId:
        return self.files[0].id if self.type == "file" else self.built.id

    def level(self, rel: str, read: Read | None = None) -> bytes | None:
        """The bytes of the level of directory ``rel`` (relative to the artifact, '' for its
        top) in this scan's tree: made now, kept by the stat cache, or read with ``read``."""
        built = self.built
        if rel in built.levels:
            return built.levels[rel]
        oid = self._level_id(rel, read)
        if oid is None:
            return None
        if oid == _EMPTY_ID:
            return EMPTY_NODE
        kept = self.scanner.state.dir_level(self.path, rel, oid)
        if kept is not None or read is None:
            return kept
        try:
            return read(oid)
        except MissingObjects:
            return None

    def _level_id(self, rel: str, read: Read | None) -> ObjectId | None:
        oid = self.built.id
        if not rel:
            return oid
        parent, _, name = rel.rpartition("/")
        above = self.level(parent, read)
        if above is None:
            return None
        return next((d.id for d in decode_node(above).dirs if d.name == name), None)

    def entries_at(self, relpaths: list[str], read: Read | None = None) -> dict[str, TreeEntry]:
        """The tree entries of the files at ``relpaths`` (relative to the repository) inside
        this directory, by path; each level read once. A path that is no file is left out."""
        cut = len(self.path) + 1
        by_dir: dict[str, list[str]] = {}
        for relpath in relpaths:
            parent, _, name = relpath[cut:].rpartition("/")
            by_dir.setdefault(parent, []).append(name)
        found: dict[str, TreeEntry] = {}
        for parent, names in by_dir.items():
            data = self.level(parent, read)
            if data is None:
                continue
            files = {f.path: f for f in decode_node(data).files}
            prefix = f"{self.path}/{parent}/" if parent else f"{self.path}/"
            found.update((prefix + n, files[n]) for n in names if n in files)
        return found

    def iter_levels(self, read: Read | None = None, rel: str = "") -> list[tuple[str, TreeEntry]]:
        """(directory, file) of every file below ``rel`` (for the few a comparison lists)."""
        data = self.level(rel, read)
        if data is None:
            raise MissingObjects([self.built.id])
        node = decode_node(data)
        out = [(rel, f) for f in node.files]
        for d in node.dirs:
            out.extend(self.iter_levels(read, f"{rel}/{d.name}" if rel else d.name))
        return out

    def legacy_twin(self, oid: ObjectId, read: Read) -> bool:
        """Whether ``oid`` is a format 1 tree of this directory's content (read with ``read``
        unless remembered): an older mlv's record of an unchanged directory."""
        if self.scanner.state.tree_id(self.path, LEGACY + str(self.built.id)) == oid:
            return True
        try:
            if tree_format(read(oid)) != 1:
                return False
        except MissingObjects:
            return False
        legacy = self.legacy_id()
        return legacy is not None and legacy == oid

    def legacy_id(self) -> ObjectId | None:
        """The id this directory's content has as a format 1 (flat) tree, remembered beside the
        format 2 id: a lock written by an older mlv names it (docs/format.md). None when the
        files changed between the scan and this second walk: the pair would be false."""
        state, key = self.scanner.state, LEGACY + str(self.built.id)
        known = state.tree_id(self.path, key)
        if known is not None:
            return known
        cut = len(self.path) + 1
        rows: list[tuple[str, str, int, bool]] = [
            (f.relpath[cut:], f.id, f.size, f.executable) for f in self.files
        ]
        if hash_bytes(split_tree(rows, self.empty_dirs)[-1]) != self.built.id:
            return None  # not the content the scan saw: remember nothing, match nothing
        oid = hash_bytes(encode_tree(rows, self.empty_dirs))
        state.record_tree(self.path, key, oid)  # two contents' ids: true whatever the stats
        return oid


@dataclass(frozen=True, slots=True)
class _Pending:
    relpath: str
    key: StatKey
    executable: bool
    dev: int


def _walk(root: Path, top: str, files: list[Found], empty: list[str]) -> None:
    """Collect the regular files below ``top`` and the directories that hold nothing."""
    stack = [top]
    cut = len(top) + 1
    while stack:
        rel_dir = stack.pop()
        has_children = False
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                has_children = True
                rel = f"{rel_dir}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    raise reject(
                        "symbolic link" if stat.S_ISLNK(st.st_mode) else "special file", rel
                    )
                files.append((rel, st))
        if not has_children and rel_dir != top:
            empty.append(rel_dir[cut:])


class Scanner:
    """Scans tracked paths, consulting and updating the stat cache."""

    def __init__(
        self,
        root: Path,
        state: StatCache,
        *,
        jobs: int | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> None:
        self.root = root
        self.state = state
        self.jobs = jobs or min(8, (os.cpu_count() or 2) * 2)
        self.progress = progress

    def scan(self, path: str) -> Scan | None:
        """The current content of tracked ``path``, or None when it does not exist."""
        check_no_symlink_parents(self.root, path)
        try:
            st = (self.root / path).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None  # absent, or a file stands where one of its parents should be
        if stat.S_ISREG(st.st_mode):  # its id has a clock of its own (``_hash_all``)
            return Scan(path, "file", st, self, _NO_CLOCK)
        if stat.S_ISDIR(st.st_mode):
            # Read before the walk whose stats the fingerprints are made of.
            return Scan(path, "dir", st, self, self.state.clock())
        raise reject("symbolic link" if stat.S_ISLNK(st.st_mode) else "special file", path)

    def identify(
        self,
        path: str,
        found: list[Found],
        store: ObjectStore | None = None,
        added: dict[ObjectId, int] | None = None,
    ) -> list[WorkFile]:
        """Content ids for ``found``: from the stat cache where valid, else by hashing (and with
        ``store``, storing in the same read; what it added goes to ``added``)."""
        # A few files (the changed directories of a large one) are looked up one by one.
        few = len(found) <= 2000
        cached = self.state.load_paths([rel for rel, _ in found]) if few else self.state.load(path)
        lookup = StatCache.lookup
        known: list[WorkFile] = []
        pending: list[_Pending] = []
        for rel, st in found:
            executable = bool(st.st_mode & 0o100)
            oid = lookup(cached, rel, st)
            if oid is not None:
                known.append(WorkFile(rel, oid, st.st_size, executable))
            else:
                pending.append(_Pending(rel, StatKey.of(st), executable, st.st_dev))
        if pending:
            known.extend(self._hash_all(pending, store, added))
        known.sort(key=lambda f: f.relpath)
        return known

    def _hash_all(
        self,
        pending: list[_Pending],
        store: ObjectStore | None = None,
        added: dict[ObjectId, int] | None = None,
    ) -> list[WorkFile]:
        total = sum(p.key.size for p in pending)
        self.progress.start("hashing", total, unit="bytes")
        started = self.state.clock()

        def one(item: _Pending) -> WorkFile:
            path = self.root / item.relpath
            if store is None:
                oid = hash_file(path, self.progress.advance)
            else:
                oid, new = hash_and_add(store, path, item.key.size, self.progress.advance)
                if new and added is not None:
                    added[oid] = item.key.size  # one dict store: atomic between threads
            return WorkFile(item.relpath, oid, item.key.size, item.executable)

        # Large files first, so one big file does not start last and run alone.
        ordered = sorted(pending, key=lambda p: -p.key.size)
        try:
            if len(ordered) == 1 or self.jobs == 1:
                results = [one(p) for p in ordered]
            else:
                with ThreadPoolExecutor(self.jobs) as pool:
                    results = batched_map(pool, one, ordered, lambda p: p.key.size)
        finally:
            self.progress.finish()
        for item, result in zip(ordered, results, strict=True):
            self.state.record(item.relpath, item.key, result.id, started.stamp(item.dev))
        return results
