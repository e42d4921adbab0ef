"""Reading tracked paths in the work tree: one walk, one stat per file, hashing only what changed.

Ids come from the stat cache when a file's (inode, size, mtime) is unchanged; the rest are hashed
in parallel threads (the hash and the reads release the GIL).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.errors import PathError
from mlv.model.ids import ObjectId
from mlv.model.tree import Tree, TreeEntry
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.state import StatCache, StatKey, now_ns


@dataclass(frozen=True, slots=True)
class WorkFile:
    """A file in the work tree with its content id."""

    relpath: str  # relative to the repository root
    abspath: Path
    id: ObjectId
    size: int
    executable: bool
    hashed: bool  # read during this scan (not known from the stat cache)


@dataclass(slots=True)
class Scan:
    """What a tracked path holds now: a single file, or a directory of files."""

    path: str
    type: str  # "file" or "dir"
    files: list[WorkFile] = field(default_factory=list)
    empty_dirs: list[str] = field(default_factory=list)  # relative to the artifact directory
    _tree: Tree | None = None

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def tree(self) -> Tree:
        """The directory as a canonical tree object (paths relative to the artifact)."""
        if self._tree is None:
            cut = len(self.path) + 1
            entries = [TreeEntry(f.relpath[cut:], f.id, f.size, f.executable) for f in self.files]
            self._tree = Tree.build(entries, self.empty_dirs)
        return self._tree

    def object_id(self) -> ObjectId:
        if self.type == "file":
            return self.files[0].id
        return hash_bytes(self.tree().encode())


@dataclass(frozen=True, slots=True)
class _Pending:
    relpath: str
    abspath: Path
    key: StatKey
    executable: bool


def _reject(kind: str, relpath: str) -> PathError:
    return PathError(
        f"{relpath} is a {kind}; mlv tracks regular files and directories only",
        "replace it by the file it stands for, or move it out of the tracked path",
    )


def _walk(root: Path, top: str) -> Iterator[tuple[str, os.stat_result] | str]:
    """Yield (relpath, stat) for files and relpath strings for empty directories below ``top``."""
    stack = [top]
    while stack:
        rel_dir = stack.pop()
        has_children = False
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                has_children = True
                rel = f"{rel_dir}/{entry.name}"
                if entry.is_symlink():
                    raise _reject("symbolic link", rel)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    raise _reject("special file", rel)
                yield rel, st
        if not has_children and rel_dir != top:
            yield rel_dir


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
        absolute = self.root / path
        try:
            st = absolute.lstat()
        except FileNotFoundError:
            return None
        cached = self.state.load(path)
        if stat.S_ISLNK(st.st_mode):
            raise _reject("symbolic link", path)
        if stat.S_ISREG(st.st_mode):
            found = [(path, st)]
            scan = Scan(path, "file")
        elif stat.S_ISDIR(st.st_mode):
            found = []
            scan = Scan(path, "dir")
            for item in _walk(self.root, path):
                if isinstance(item, str):
                    scan.empty_dirs.append(item[len(path) + 1 :])
                else:
                    found.append(item)
        else:
            raise _reject("special file", path)
        scan.files = self._identify(found, cached)
        return scan

    def _identify(
        self, found: list[tuple[str, os.stat_result]], cached: dict[str, tuple[StatKey, int, str]]
    ) -> list[WorkFile]:
        known: list[WorkFile] = []
        pending: list[_Pending] = []
        for rel, st in found:
            key = StatKey(st.st_ino, st.st_size, st.st_mtime_ns)
            executable = bool(st.st_mode & 0o100)
            oid = StatCache.lookup(cached, rel, key)
            if oid is not None:
                known.append(WorkFile(rel, self.root / rel, oid, st.st_size, executable, False))
            else:
                pending.append(_Pending(rel, self.root / rel, key, executable))
        if pending:
            known.extend(self._hash_all(pending))
        known.sort(key=lambda f: f.relpath)
        return known

    def _hash_all(self, pending: list[_Pending]) -> list[WorkFile]:
        total = sum(p.key.size for p in pending)
        self.progress.start("hashing", total, unit="bytes")
        started = now_ns()

        def one(item: _Pending) -> WorkFile:
            oid = hash_file(item.abspath, self.progress.advance)
            return WorkFile(item.relpath, item.abspath, oid, item.key.size, item.executable, True)

        try:
            if len(pending) == 1 or self.jobs == 1:
                results = [one(p) for p in pending]
            else:
                # Large files first, so one big file does not start last and run alone.
                ordered = sorted(pending, key=lambda p: -p.key.size)
                with ThreadPoolExecutor(self.jobs) as pool:
                    results = list(pool.map(one, ordered))
        finally:
            self.progress.finish()
        by_path = {p.relpath: p for p in pending}
        for result in results:
            self.state.record(result.relpath, by_path[result.relpath].key, result.id, started)
        return results
