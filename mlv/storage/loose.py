"""Loose objects (format 1): one read-only file per object, ``<root>/<algorithm>/<ab>/<cd...>``.

Still read in every store, and still written for projects that check out by hard link (a work
tree file can share an inode with a loose object, never with a part of a pack). Each object is
written to ``<root>/tmp`` and renamed into place once complete and verified, so a reader never
sees a partial object.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from mlv import faults
from mlv.errors import CheckFailed, CorruptObject, MlvError
from mlv.model.ids import ALGORITHMS, ObjectId
from mlv.storage.fsutil import copy_into, sync_names, temp_name, write_all
from mlv.storage.hashing import hash_bytes, hash_file

OBJECT_MODE = 0o444
# Files up to this size are stored from memory: one read, one hash, one write. Larger ones are
# copied by the kernel (reflink or copy_file_range) and the copy is hashed.
SMALL_FILE = 1024 * 1024


class FileChanged(CheckFailed):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} changed while mlv was reading it",
            "let the program writing it finish, then run the command again",
        )


class LooseObjects:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._made: set[str] = set()  # directories known to exist (saves a mkdir per object)
        # Objects published since the last sync_written(): written, not yet known to be on disk.
        self._unsynced: list[str] = []
        self._unsynced_lock = threading.Lock()  # objects are published from worker threads

    def path(self, oid: ObjectId) -> str:
        algorithm, _, digest = oid.partition(":")
        return f"{self._root}/{algorithm}/{digest[:2]}/{digest[2:]}"

    def exists(self, oid: ObjectId) -> bool:
        try:
            os.stat(self.path(oid))
        except FileNotFoundError:
            return False
        return True

    def tmp_dir(self) -> Path:
        tmp = f"{self._root}/tmp"
        self._ensure_dir(tmp)
        return Path(tmp)

    def _ensure_dir(self, path: str) -> None:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            self._made.add(path)

    def publish(self, tmp: Path, oid: ObjectId) -> None:
        """Move a complete, verified, read-only temporary file to its final name."""
        final = self.path(oid)
        self._ensure_dir(final.rpartition("/")[0])
        faults.step(final)
        # A concurrent writer of the same object is harmless: both files hold the same bytes,
        # and rename replaces atomically.
        os.replace(tmp, final)
        with self._unsynced_lock:
            self._unsynced.append(final)

    def sync_written(self) -> int:
        """Make the objects published since the last call survive a power cut: one syncfs(2)
        of the store's file system, then an fsync of each directory that got new names (an
        fsync per object where no whole-file-system sync waits for the disk)."""
        with self._unsynced_lock:
            written, self._unsynced = self._unsynced, []
        if not written:
            return 0
        faults.step(f"sync {self._root}")
        sync_names(self.root, written)
        return len(written)

    def add_file(self, src: Path, expected: ObjectId, display: str | None = None) -> None:
        tmp = temp_name(self.tmp_dir(), expected.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                size = os.stat(src).st_size
                if size <= SMALL_FILE:
                    with open(src, "rb", buffering=0) as source:
                        data = source.read(size + 1)
                    if hash_bytes(data) != expected:
                        raise FileChanged(display or str(src))
                    write_all(fd, data, str(tmp))
                else:
                    copy_into(src, fd, str(tmp))
                os.fchmod(fd, OBJECT_MODE)
            finally:
                os.close(fd)
            if size > SMALL_FILE and hash_file(tmp) != expected:
                raise FileChanged(display or str(src))
            self.publish(tmp, expected)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def add_bytes(self, oid: ObjectId, data: bytes) -> None:
        tmp = temp_name(self.tmp_dir(), oid.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OBJECT_MODE)
            try:
                write_all(fd, data, str(tmp))
            finally:
                os.close(fd)
            self.publish(tmp, oid)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def copy_to(self, oid: ObjectId, fd: int, tmp: Path) -> None:
        """Write the object's bytes to ``fd`` (the temporary file ``tmp``), verified."""
        src = self.path(oid)
        size = os.stat(src).st_size
        if size <= SMALL_FILE:
            with open(src, "rb", buffering=0) as source:
                data = source.read(size + 1)
            if hash_bytes(data) != oid:
                raise CorruptObject(str(oid), src)
            write_all(fd, data, str(tmp))
            return
        copy_into(Path(src), fd, str(tmp))
        if hash_file(tmp) != oid:
            raise CorruptObject(str(oid), src)

    def iter_ids(self) -> Iterator[ObjectId]:
        if not self.root.is_dir():
            return
        # Only algorithm directories: the store root also holds tmp/, packs/, users/, a lock.
        for algo_dir in sorted(p for p in self.root.iterdir() if p.name in ALGORITHMS):
            for fan in sorted(algo_dir.iterdir()):
                for obj in sorted(fan.iterdir()):
                    with contextlib.suppress(MlvError):
                        yield ObjectId(algo_dir.name, fan.name + obj.name)
