"""The content-addressed object store.

Layout: ``<root>/<algorithm>/<first two hex>/<remaining hex>``. Objects are written to
``<root>/tmp`` first and renamed into place only once complete and verified, so a reader never
sees a partial object and the store is safe to share between processes without a global lock.
Objects are read-only on disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from mlv import faults
from mlv.errors import CheckFailed, CorruptObject, ManifestError, MissingObjects, MlvError
from mlv.model.ids import ALGORITHMS, ObjectId
from mlv.storage.fsutil import (
    copy_into,
    default_file_mode,
    place,
    sync_names,
    temp_name,
    write_all,
)
from mlv.storage.hashing import hash_bytes, hash_file

OBJECT_MODE = 0o444
# Files up to this size are stored from memory: one read, one hash, one write. Larger ones are
# copied by the kernel (reflink or copy_file_range) and the copy is hashed.
SMALL_FILE = 1024 * 1024


# The largest object read whole into memory (tree objects, code patches). A tree of 10^6 files
# is ~120 MB; a larger object named as a tree is not one (a model file named by a forged
# mlv.lock, say) and is refused unread, so memory never follows a file's size.
MAX_IN_MEMORY = 512 * 1024 * 1024


class ObjectTooLarge(ManifestError):
    def __init__(self, object_id: str, size: int, limit: int) -> None:
        super().__init__(
            f"object {object_id} is {size:,} bytes, more than the {limit:,} mlv reads whole"
            " (tree objects and code patches are never that large)",
            "the manifest naming it may name a file where a directory belongs: restore mlv.lock"
            " from git (`git checkout -- mlv.lock`); `mlv verify` checks the store",
        )


class FileChanged(CheckFailed):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} changed while mlv was reading it",
            "let the program writing it finish, then run the command again",
        )


class ObjectStore:
    """Immutable objects addressed by their content id."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._made: set[str] = set()  # directories known to exist (saves a mkdir per object)
        # Objects published since the last sync_written(): written, not yet known to be on disk.
        self._unsynced: list[str] = []
        self._unsynced_lock = threading.Lock()  # objects are published from worker threads

    def _str_path(self, oid: ObjectId) -> str:
        algorithm, _, digest = oid.partition(":")
        return f"{self._root}/{algorithm}/{digest[:2]}/{digest[2:]}"

    def path_of(self, oid: ObjectId) -> Path:
        return Path(self._str_path(oid))

    def exists(self, oid: ObjectId) -> bool:
        try:
            os.stat(self._str_path(oid))
        except FileNotFoundError:
            return False
        return True

    def _ensure_dir(self, path: str) -> None:
        if path not in self._made:
            os.makedirs(path, exist_ok=True)
            self._made.add(path)

    def _tmp_dir(self) -> Path:
        tmp = f"{self._root}/tmp"
        self._ensure_dir(tmp)
        return Path(tmp)

    def _publish(self, tmp: Path, oid: ObjectId) -> None:
        """Move a complete, verified, read-only temporary file to its final name."""
        final = self._str_path(oid)
        self._ensure_dir(final.rpartition("/")[0])
        faults.step(final)
        # A concurrent writer of the same object is harmless: both files hold the same bytes,
        # and rename replaces atomically.
        os.replace(tmp, final)
        with self._unsynced_lock:
            self._unsynced.append(final)

    def sync_written(self) -> int:
        """Make the objects this store published since the last call survive a power cut.

        Called before a manifest names them. Batched, because an fsync per object would cost
        more than hashing a tree of small files: one syncfs(2) of the store's file system, then
        an fsync of each directory that got new names. Where no whole-file-system sync waits for
        the disk (not Linux), each object is fsynced instead. Returns how many objects were
        synced; with none written, nothing is done.
        """
        with self._unsynced_lock:
            written, self._unsynced = self._unsynced, []
        if not written:
            return 0
        faults.step(f"sync {self._root}")
        sync_names(self.root, written)
        return len(written)

    def add_file(self, src: Path, expected: ObjectId, display: str | None = None) -> None:
        """Store a copy of ``src`` whose content must hash to ``expected``."""
        tmp = temp_name(self._tmp_dir(), expected.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                size = os.stat(src).st_size
                if size <= SMALL_FILE:
                    # Ask for exactly what stat said (+1 to notice growth): a larger request
                    # would allocate, and map, a big buffer for every small file.
                    with open(src, "rb", buffering=0) as source:
                        data = source.read(size + 1)
                    # Hash what is written, not what was hashed before: the id stays true even
                    # if the source is being rewritten right now.
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
            self._publish(tmp, expected)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def temp_path(self, oid: ObjectId) -> Path:
        """A fresh temporary name inside the store, for an object arriving from elsewhere."""
        return temp_name(self._tmp_dir(), oid.digest)

    def import_temp(self, tmp: Path, oid: ObjectId) -> bool:
        """Publish a downloaded temporary file if its bytes hash to ``oid``; else delete it.

        Returns False for a corrupt download, which never enters the store.
        """
        try:
            if hash_file(tmp) != oid:
                tmp.unlink()
                return False
            os.chmod(tmp, OBJECT_MODE)
            self._publish(tmp, oid)
            return True
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def add_bytes(self, data: bytes) -> ObjectId:
        oid = hash_bytes(data)
        if self.exists(oid):
            return oid
        tmp = temp_name(self._tmp_dir(), oid.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OBJECT_MODE)
            try:
                write_all(fd, data, str(tmp))
            finally:
                os.close(fd)
            self._publish(tmp, oid)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return oid

    def export(
        self, oid: ObjectId, dst: Path, tmp_dir: Path, *, executable: bool, hardlink: bool
    ) -> None:
        """Place the object at ``dst``: verified against its id first, and atomically (a reader
        sees the old file or the new one). A corrupt object raises and is never placed."""
        src = self._str_path(oid)
        if hardlink and not executable:  # one inode cannot be both executable and not
            # A link planted in the store would make the work tree share an inode with a file
            # outside it (edits would go there): only a regular object file is linked.
            if not stat.S_ISREG(os.lstat(src).st_mode) or hash_file(src) != oid:
                raise CorruptObject(str(oid), src)
            faults.step(str(dst))
            try:
                os.link(src, dst)  # a new name appears complete or not at all
                return
            except FileExistsError:
                tmp = temp_name(tmp_dir, dst.name)
                os.link(src, tmp)
                place(tmp, dst)
                return
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # The store is on another file system: copy instead.
        tmp = temp_name(tmp_dir, dst.name)
        size = os.stat(src).st_size
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                if size <= SMALL_FILE:
                    with open(src, "rb", buffering=0) as source:
                        data = source.read(size + 1)
                    if hash_bytes(data) != oid:
                        raise CorruptObject(str(oid), src)
                    write_all(fd, data, str(tmp))
                else:
                    copy_into(Path(src), fd, str(tmp))
                os.fchmod(fd, default_file_mode(executable))
            finally:
                os.close(fd)
            if size > SMALL_FILE and hash_file(tmp) != oid:
                raise CorruptObject(str(oid), src)
            faults.step(str(dst))
            os.replace(tmp, dst)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if exc.errno != errno.EXDEV or tmp_dir == dst.parent:
                raise
            # tmp_dir is on another file system than dst: retry beside the destination.
            self.export(oid, dst, dst.parent, executable=executable, hardlink=False)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def read_bytes(self, oid: ObjectId, max_size: int | None = None) -> bytes:
        """The object's bytes, verified against its id (used for small objects: trees, patches).

        One larger than ``max_size`` (default ``MAX_IN_MEMORY``) is refused before it is read.
        """
        path = self.path_of(oid)
        limit = MAX_IN_MEMORY if max_size is None else max_size
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > limit:
                    raise ObjectTooLarge(str(oid), size, limit)
                data = handle.read()
        except FileNotFoundError:
            raise MissingObjects([str(oid)]) from None
        if hash_bytes(data) != oid:
            raise CorruptObject(str(oid), str(path))
        return data

    def verify(self, oid: ObjectId) -> bool:
        """Re-hash the stored object; False when its bytes no longer match its id."""
        return hash_file(self.path_of(oid)) == oid

    def missing(self, oids: set[ObjectId]) -> set[ObjectId]:
        return {oid for oid in oids if not self.exists(oid)}

    def iter_ids(self) -> Iterator[ObjectId]:
        # Only algorithm directories: the store root also holds tmp/, users/ and a lock file.
        for algo_dir in sorted(p for p in self.root.iterdir() if p.name in ALGORITHMS):
            for fan in sorted(algo_dir.iterdir()):
                for obj in sorted(fan.iterdir()):
                    with contextlib.suppress(MlvError):
                        yield ObjectId(algo_dir.name, fan.name + obj.name)
