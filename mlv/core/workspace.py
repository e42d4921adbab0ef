"""Reading tracked paths in the work tree: one walk, one stat per file, hashing only what changed.

Ids come from the stat cache when a file's (inode, size, mtime) is unchanged; the rest are hashed
in parallel threads (the hash and the reads release the GIL). For a directory, the stat cache also
remembers the tree id under a fingerprint of every file's stat identity, so an unchanged
directory of 10^5 files costs its walk and one hash of the stat fields — no per-file lookups.
The fingerprint is made of one per directory, remembered with the tree's entries there, so a
change is found by reading only the directories it touched (``mlv.core.dir_changes``).
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import msgspec
import xxhash

from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.errors import PathError
from mlv.model.ids import ObjectId
from mlv.model.paths import check_relpath, find_collision, names_git_dir, same_file_message
from mlv.model.tree import encode_tree
from mlv.storage.fsutil import check_no_symlink_parents
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.ingest import hash_and_add
from mlv.storage.state import Clock, StatCache, StatKey
from mlv.storage.store import ObjectStore

Found = tuple[str, os.stat_result]  # a regular file: path relative to the root, its lstat
EMPTY_DIRS = "/"  # the key of a directory's empty directories among its per-directory prints
_NO_CLOCK = Clock(-1, 0, 0)  # every file racy: a single file's scan never reads its clock


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

    Content ids are resolved on first use of ``files``: a status of an unchanged directory never
    needs them.
    """

    path: str
    type: str  # "file" or "dir"
    found: list[Found]
    empty_dirs: list[str]  # relative to the artifact directory
    scanner: Scanner
    clock: Clock  # read before the walk
    # Set by a snapshot before the files are identified: each file hashed is stored from the
    # same read (the ids it got are in ``ObjectStore``; ``added`` the ones new to it).
    store: ObjectStore | None = None
    added: dict[ObjectId, int] | None = None
    _files: list[WorkFile] | None = None
    _tree_bytes: bytes | None = None
    _id: ObjectId | None = None
    _groups: dict[str, list[Found]] | None = None
    _prints: dict[str, str] | None = None

    @property
    def size(self) -> int:
        return sum(st.st_size for _, st in self.found)

    @property
    def count(self) -> int:
        return len(self.found)

    @property
    def identified(self) -> bool:
        """Whether the content ids are resolved already."""
        return self._files is not None

    @property
    def files(self) -> list[WorkFile]:
        if self._files is None:
            self._files = self.scanner.identify(self.path, self.found, self.store, self.added)
        return self._files

    def tree_bytes(self) -> bytes:
        """The directory as a canonical tree object (paths relative to the artifact).

        Checked before any file is hashed: a tree that checkout would refuse is never made.
        """
        if self._tree_bytes is None:
            self.check_names()
            cut = len(self.path) + 1
            self._tree_bytes = encode_tree(
                [(f.relpath[cut:], f.id, f.size, f.executable) for f in self.files],
                self.empty_dirs,
            )
        return self._tree_bytes

    def check_names(self) -> None:
        """PathError for a name that a tree object may not hold (see ``mlv.model.tree``)."""
        paths = [rel for rel, _ in self.found] + [f"{self.path}/{d}" for d in self.empty_dirs]
        for rel in paths:
            try:
                check_relpath(rel)
            except PathError as exc:
                hint = (
                    f"a nested git repository cannot be tracked: move it out of {self.path}"
                    if names_git_dir(rel)
                    else f"rename it, or move it out of {self.path}"
                )
                raise PathError(exc.message, hint) from None
        collision = find_collision(paths)
        if collision is not None:
            raise PathError(
                same_file_message("files", collision),
                "rename one of them; mlv keeps snapshots portable (docs/decisions.md)",
            )

    def known_id(self) -> ObjectId | None:
        """A directory's tree id when its stat fingerprint is the remembered one (nothing read)."""
        if self._id is None and self.type == "dir":
            self._id = self.scanner.state.tree_id(self.path, self.fingerprint())
        return self._id

    def object_id(self) -> ObjectId:
        if self._id is None:
            if self.type == "file":
                self._id = self.files[0].id
            elif self.known_id() is None:
                oid = hash_bytes(self.tree_bytes())
                if self.trusted(self.found):
                    self.scanner.state.record_tree(self.path, self.fingerprint(), oid)
                self._record_dirs(oid)
                self._id = oid
        assert self._id is not None
        return self._id

    def trusted(self, found: list[Found]) -> bool:
        """Whether stat fields of ``found`` may stand for their content next time: the same
        racy-clean rule as for single files (see mlv.storage.state)."""
        stamp = self.clock.stamp
        return all(st.st_mtime_ns < stamp(st.st_dev) for _, st in found)

    def groups(self) -> dict[str, list[Found]]:
        """The files by the directory holding them, relative to the artifact ('' for its top)."""
        if self._groups is None:
            cut = len(self.path) + 1
            groups: dict[str, list[Found]] = {}
            for item in self.found:
                groups.setdefault(item[0][cut:].rpartition("/")[0], []).append(item)
            self._groups = groups
        return self._groups

    def dir_prints(self) -> dict[str, str]:
        """A fingerprint of the stat identities of each directory's files (and one of the
        empty directories, under EMPTY_DIRS)."""
        if self._prints is None:
            prints = {}
            for d, items in self.groups().items():
                hasher = xxhash.xxh3_128()
                for rel, st in sorted(items):
                    hasher.update(
                        b"%s\0%d\0%d\0%d\0%d\0%d\n"
                        % (
                            rel.encode(),
                            st.st_ino,
                            st.st_size,
                            st.st_mtime_ns,
                            st.st_ctime_ns,
                            st.st_mode & 0o100,
                        )
                    )
                prints[d] = hasher.hexdigest()
            if self.empty_dirs:
                listed = "\n".join(sorted(self.empty_dirs)).encode()
                prints[EMPTY_DIRS] = xxhash.xxh3_128_hexdigest(listed)
            self._prints = prints
        return self._prints

    def fingerprint(self) -> str:
        hasher = xxhash.xxh3_128()
        for d, print_ in sorted(self.dir_prints().items()):
            hasher.update(b"%s\0%s\n" % (d.encode(), print_.encode()))
        return hasher.hexdigest()

    def _record_dirs(self, oid: ObjectId) -> None:
        """Remember each directory's entries in tree ``oid``, under its fingerprint when that
        may stand for them (``dir_changes`` compares with them)."""
        cut = len(self.path) + 1
        entries: dict[str, list[tuple[str, str, int, bool]]] = {}
        for f in self.files:
            name = f.relpath[cut:]
            entries.setdefault(name.rpartition("/")[0], []).append(
                (name, str(f.id), f.size, f.executable)
            )
        prints, groups = self.dir_prints(), self.groups()
        rows = [
            (d, prints[d] if self.trusted(groups[d]) else "", msgspec.json.encode(listed))
            for d, listed in entries.items()
        ]
        if self.empty_dirs:
            listed_dirs = sorted(self.empty_dirs)
            rows.append((EMPTY_DIRS, prints[EMPTY_DIRS], msgspec.json.encode(listed_dirs)))
        self.scanner.state.record_dirs(self.path, oid, rows)


@dataclass(frozen=True, slots=True)
class _Pending:
    relpath: str
    key: StatKey
    executable: bool
    dev: int


def _reject(kind: str, relpath: str) -> PathError:
    return PathError(
        f"{relpath} is a {kind}; mlv tracks regular files and directories only",
        "replace it by the file it stands for, or move it out of the tracked path",
    )


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
                    raise _reject(
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
            return Scan(path, "file", [(path, st)], [], self, _NO_CLOCK)
        if stat.S_ISDIR(st.st_mode):
            started = self.state.clock()  # before the walk whose stats fingerprints are made of
            found: list[Found] = []
            empty: list[str] = []
            _walk(self.root, path, found, empty)
            return Scan(path, "dir", found, empty, self, started)
        raise _reject("symbolic link" if stat.S_ISLNK(st.st_mode) else "special file", path)

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
