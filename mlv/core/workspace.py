"""Reading tracked paths in the work tree: one walk, one stat per file, hashing only what changed.

Ids come from the stat cache when a file's (inode, size, mtime) is unchanged; the rest are hashed
in parallel threads (the hash and the reads release the GIL). For a directory, the stat cache also
remembers the tree id under a fingerprint of every file's stat identity, so an unchanged
directory of 10^5 files costs its walk and one hash of the stat fields — no per-file lookups.
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import xxhash

from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.errors import PathError
from mlv.model.ids import ObjectId
from mlv.model.paths import check_relpath, find_collision, names_git_dir, same_file_message
from mlv.model.tree import encode_tree
from mlv.storage.fsutil import check_no_symlink_parents
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.state import Clock, StatCache, StatKey

Found = tuple[str, os.stat_result]  # a regular file: path relative to the root, its lstat


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
    _files: list[WorkFile] | None = None
    _tree_bytes: bytes | None = None
    _id: ObjectId | None = None

    @property
    def size(self) -> int:
        return sum(st.st_size for _, st in self.found)

    @property
    def count(self) -> int:
        return len(self.found)

    @property
    def files(self) -> list[WorkFile]:
        if self._files is None:
            self._files = self.scanner.identify(self.path, self.found)
        return self._files

    def tree_bytes(self) -> bytes:
        """The directory as a canonical tree object (paths relative to the artifact).

        Checked before any file is hashed: a tree that checkout would refuse is never made.
        """
        if self._tree_bytes is None:
            self._check_names()
            cut = len(self.path) + 1
            self._tree_bytes = encode_tree(
                [(f.relpath[cut:], f.id, f.size, f.executable) for f in self.files],
                self.empty_dirs,
            )
        return self._tree_bytes

    def _check_names(self) -> None:
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

    def object_id(self) -> ObjectId:
        if self._id is None:
            if self.type == "file":
                self._id = self.files[0].id
            else:
                fingerprint = self._fingerprint()
                self._id = self.scanner.state.tree_id(self.path, fingerprint)
                if self._id is None:
                    self._id = hash_bytes(self.tree_bytes())
                    # Same racy-clean rule as for single files (see mlv.storage.state).
                    stamp = self.clock.stamp
                    if all(st.st_mtime_ns < stamp(st.st_dev) for _, st in self.found):
                        self.scanner.state.record_tree(self.path, fingerprint, self._id)
        return self._id

    def _fingerprint(self) -> str:
        hasher = xxhash.xxh3_128()
        for rel, st in sorted(self.found):
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
        for d in sorted(self.empty_dirs):
            hasher.update(b"%s/\n" % d.encode())
        return hasher.hexdigest()


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
        started = self.state.clock()
        check_no_symlink_parents(self.root, path)
        try:
            st = (self.root / path).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None  # absent, or a file stands where one of its parents should be
        if stat.S_ISREG(st.st_mode):
            return Scan(path, "file", [(path, st)], [], self, started)
        if stat.S_ISDIR(st.st_mode):
            found: list[Found] = []
            empty: list[str] = []
            _walk(self.root, path, found, empty)
            return Scan(path, "dir", found, empty, self, started)
        raise _reject("symbolic link" if stat.S_ISLNK(st.st_mode) else "special file", path)

    def identify(self, path: str, found: list[Found]) -> list[WorkFile]:
        """Content ids for ``found``: from the stat cache where valid, else by hashing."""
        cached = self.state.load(path)
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
            known.extend(self._hash_all(pending))
        known.sort(key=lambda f: f.relpath)
        return known

    def _hash_all(self, pending: list[_Pending]) -> list[WorkFile]:
        total = sum(p.key.size for p in pending)
        self.progress.start("hashing", total, unit="bytes")
        started = self.state.clock()

        def one(item: _Pending) -> WorkFile:
            oid = hash_file(self.root / item.relpath, self.progress.advance)
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
