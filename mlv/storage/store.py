"""The content-addressed object store (format 2, docs/format.md).

New objects go into pack files (``mlv.storage.pack``); files of ``CHUNK_FROM`` bytes and more are
split into chunks (``mlv.storage.chunk``) that live in packs too. Loose objects of format 1,
``<root>/<algorithm>/<first two hex>/<remaining hex>``, are still read. Every read is verified
against the id before its bytes are used or placed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import xxhash

from mlv import faults
from mlv.errors import CorruptObject, MissingObjects, ObjectTooLarge
from mlv.model.ids import ALGORITHMS, ObjectId
from mlv.storage import chunk
from mlv.storage.entry_table import Entry
from mlv.storage.fsutil import (
    place,
    temp_name,
    write_all,
    write_unmarked,
)
from mlv.storage.hashing import hash_bytes, hash_file
from mlv.storage.loose import OBJECT_MODE, FileChanged, LooseObjects
from mlv.storage.pack import BLOB, CHUNKED, Packs

# The largest object read whole into memory (tree objects, code patches). A tree of 10^6 files
# is ~120 MB; a larger object named as a tree is not one (a model file named by a forged
# mlv.lock, say) and is refused unread, so memory never follows a file's size.
MAX_IN_MEMORY = 512 * 1024 * 1024


class ObjectStore:
    """Immutable objects addressed by their content id.

    ``loose``: write new objects as loose files (format 1) rather than into packs, for a
    project that checks out by hard link.
    """

    def __init__(self, root: Path, *, loose: bool = False) -> None:
        self.root = root
        self.write_loose = loose
        self.loose = LooseObjects(root)
        self.packs = Packs(root)
        self._extracted: dict[ObjectId, Path] = {}  # packed objects copied out to be read
        self._extract_lock = threading.Lock()
        self._has_loose: bool | None = None  # see may_hold_loose
        # A store dropped without close() (a script, a test) still finishes its pack: objects
        # added are kept whether or not the caller made them durable with sync_written().
        weakref.finalize(self, _close, self.packs, self._extracted)

    def _str_path(self, oid: ObjectId) -> str:
        return self.loose.path(oid)

    def path_of(self, oid: ObjectId) -> Path:
        """Where a loose (format 1) object of this id is, or would be."""
        return Path(self._str_path(oid))

    def _entry(self, oid: ObjectId) -> Entry | None:
        return self.packs.find(_digest(oid))

    def exists(self, oid: ObjectId) -> bool:
        if self._entry(oid) is not None:
            return True
        try:
            os.stat(self._str_path(oid))
        except FileNotFoundError:
            return False
        return True

    def _tmp_dir(self) -> Path:
        return self.loose.tmp_dir()

    def sync_written(self) -> int:
        """Make the objects added since the last call durable and visible to other processes.

        Called before a manifest names them: the pack being written is fsynced and its index
        renamed into place (docs/format.md); loose objects are synced. Returns how many objects
        were made durable.
        """
        return self.packs.finish() + self.loose.sync_written()

    def close(self) -> None:
        """Finish the pack being written (objects added without a sync are kept too), and
        remove the copies ``readable`` made."""
        with self._extract_lock:
            _close(self.packs, self._extracted)

    def readable(self, oid: ObjectId) -> Path:
        """A file to read the object's bytes from, valid until ``close``: a loose object's own
        file, or a packed object copied (verified) to the store's tmp/ once."""
        if self._entry(oid) is None:
            return self.path_of(oid)
        with self._extract_lock:
            path = self._extracted.get(oid)
        if path is None:
            tmp_dir = self._tmp_dir()
            path = temp_name(tmp_dir, oid.digest)
            self.export(oid, path, tmp_dir, executable=False, hardlink=False)
            with self._extract_lock:
                self._extracted[oid] = path
        return path

    def add_file(self, src: Path, expected: ObjectId, display: str | None = None) -> None:
        """Store a copy of ``src`` whose content must hash to ``expected``."""
        if self.write_loose:
            self.loose.add_file(src, expected, display)
            return
        size = os.stat(src).st_size
        if size >= chunk.CHUNK_FROM:
            if not chunk.store(self.packs, src, _digest(expected)):
                raise FileChanged(display or str(src))  # its chunks stay: valid, gc drops them
            return
        # Ask for exactly what stat said (+1 to notice growth): a larger request would
        # allocate a big buffer for every small file.
        with open(src, "rb", buffering=0) as source:
            data = source.read(size + 1)
        # Hash what is stored, not what was hashed before: the id stays true even if the
        # source is being rewritten right now.
        if hash_bytes(data) != expected:
            raise FileChanged(display or str(src))
        self.packs.add(_digest(expected), BLOB, data)

    def may_hold_loose(self) -> bool:
        """Whether the store may hold loose objects (format 1), looked at once per store."""
        if self._has_loose is None:
            self._has_loose = any(os.path.isdir(self.root / name) for name in ALGORITHMS)
        return self._has_loose

    def temp_path(self, oid: ObjectId) -> Path:
        """A fresh temporary name inside the store, for an object arriving from elsewhere."""
        return temp_name(self._tmp_dir(), oid.digest)

    def import_temp(self, tmp: Path, oid: ObjectId) -> bool:
        """Store a downloaded temporary file if its bytes hash to ``oid``, and delete it.

        Returns False for a corrupt download, which never enters the store.
        """
        try:
            self.add_file(tmp, oid)
            return True
        except FileChanged:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def add_bytes(self, data: bytes) -> ObjectId:
        oid = hash_bytes(data)
        if self.exists(oid):
            return oid
        if self.write_loose:
            self.loose.add_bytes(oid, data)
        else:
            self.packs.add(_digest(oid), BLOB, data)
        return oid

    def placement(self, oid: ObjectId) -> tuple[str, int]:
        """A sort key that reads packed objects in the order they lie on disk (loose ones
        last), for a command that reads many."""
        entry = self._entry(oid)
        return ("\uffff", 0) if entry is None else (entry.pack, entry.offset)

    def where(self, oid: ObjectId) -> str:
        """Where the object's bytes are, for messages."""
        return self._where(oid, self._entry(oid))

    def _where(self, oid: ObjectId, entry: Entry | None) -> str:
        if entry is None:
            return self._str_path(oid)
        return f"{self.packs.dir / entry.pack}.pack at byte {entry.offset}"

    def _pieces(self, oid: ObjectId, entry: Entry) -> Iterator[bytes]:
        """The stored bytes of a packed object, in order (unverified: callers hash them)."""
        if entry.kind == BLOB:
            yield self.packs.read(_digest(oid), entry)
            return
        try:
            yield from chunk.pieces(self.packs, _digest(oid), entry)
        except chunk.Broken as exc:
            raise CorruptObject(str(oid), f"{self._where(oid, entry)} ({exc})") from None

    def _chunk_list(self, oid: ObjectId, entry: Entry) -> list[tuple[bytes, int]]:
        try:
            return chunk.listed(self.packs, _digest(oid), entry)
        except chunk.Broken:
            raise CorruptObject(str(oid), self._where(oid, entry)) from None

    def chunks_of(self, oid: ObjectId) -> list[ObjectId]:
        """The chunks a packed chunked file is made of (none for any other object)."""
        entry = self._entry(oid)
        if entry is None or entry.kind != CHUNKED:
            return []
        with contextlib.suppress(CorruptObject):
            return [ObjectId.xxh128(d.hex()) for d, _ in self._chunk_list(oid, entry)]
        return []

    def head(self, oid: ObjectId, count: int) -> bytes:
        """The first bytes of a loose or packed whole object (unverified: a peek); nothing for a
        chunked file (which no tree or record ever is)."""
        entry = self._entry(oid)
        if entry is None:
            with open(self._str_path(oid), "rb") as handle:
                return handle.read(count)
        if entry.kind != BLOB:
            return b""
        return self.packs.read(_digest(oid), entry._replace(length=min(count, entry.length)))

    def size_of(self, oid: ObjectId) -> int:
        entry = self._entry(oid)
        if entry is None:
            try:
                return os.stat(self._str_path(oid)).st_size
            except FileNotFoundError:
                raise MissingObjects([str(oid)]) from None
        if entry.kind == BLOB:
            return entry.length
        return sum(length for _, length in self._chunk_list(oid, entry))

    def export(
        self,
        oid: ObjectId,
        dst: Path,
        tmp_dir: Path,
        *,
        executable: bool,
        hardlink: bool,
        proven: Callable[[os.stat_result], bool] | None = None,
    ) -> os.stat_result | None:
        """Place the object at ``dst``: verified against its id first, and atomically (a reader
        sees the old file or the new one). A corrupt object raises and is never placed.

        ``hardlink``: link a loose object's file, unread when ``proven`` says its stat identity
        is one already verified; a packed chunked file is unpacked to a loose one (verified as
        it is written) and linked; a packed whole object is copied (docs/decisions.md). Returns
        the linked object's stat when its content is known to be its id's (for a new proof).
        """
        src = self._str_path(oid)
        hardlink = hardlink and not executable  # one inode cannot be both
        # A loose object is linked without a look at the packs.
        entry = None if hardlink and os.path.lexists(src) else self._entry(oid)
        fresh = False
        if hardlink and entry is not None:
            if entry.kind == BLOB:
                hardlink = False  # small and packed: copied below
            else:
                self._unpack(oid, entry)  # verified while written
                fresh = True
        if hardlink:
            linked = self._link(oid, src, dst, tmp_dir, fresh, proven)
            if not isinstance(linked, bool):
                return linked
            # The store is on another file system: copy instead.
            entry = self._entry(oid)
        tmp = temp_name(tmp_dir, dst.name)
        try:
            # Created with its final mode (the umask applied, as default_file_mode does): no
            # fchmod per file.
            mode = 0o777 if executable else 0o666
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                if entry is None:
                    self.loose.copy_to(oid, fd, tmp)
                else:
                    self._copy_packed(oid, entry, fd, str(tmp))
            finally:
                os.close(fd)
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
        return None

    def _link(
        self,
        oid: ObjectId,
        src: str,
        dst: Path,
        tmp_dir: Path,
        fresh: bool,
        proven: Callable[[os.stat_result], bool] | None,
    ) -> os.stat_result | bool | None:
        """Hard-link the loose object ``src`` at ``dst`` once it is known to be intact: the
        object's stat when its content is its id's, None when that is not known; False when
        the two are on different file systems (nothing was done)."""
        # A link planted in the store would make the work tree share an inode with a file
        # outside it (edits would go there): only a regular object file is linked.
        before = os.lstat(src)
        if not stat.S_ISREG(before.st_mode):
            raise CorruptObject(str(oid), src)
        if not fresh and not (proven is not None and proven(before)) and hash_file(src) != oid:
            raise CorruptObject(str(oid), src)
        faults.step(str(dst))
        try:
            os.link(src, dst)  # a new name appears complete or not at all
        except FileExistsError:
            tmp = temp_name(tmp_dir, dst.name)
            os.link(src, tmp)
            place(tmp, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            return False
        after = os.lstat(src)
        # The link changed the ctime alone; anything else means another writer: no proof.
        same = (after.st_ino, after.st_size, after.st_mtime_ns) == (
            before.st_ino,
            before.st_size,
            before.st_mtime_ns,
        )
        return after if same else None

    def _unpack(self, oid: ObjectId, entry: Entry) -> None:
        """Write a packed object out as a loose one (for a hard-linked checkout)."""
        tmp = temp_name(self._tmp_dir(), oid.digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                self._copy_packed(oid, entry, fd, str(tmp))
                os.fchmod(fd, OBJECT_MODE)
            finally:
                os.close(fd)
            self.loose.publish(tmp, oid)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def _copy_packed(self, oid: ObjectId, entry: Entry, fd: int, label: str) -> None:
        """Write a packed object's bytes to ``fd`` while hashing them; raise if they are not
        its id's (the caller then removes the file). One fault mark, after the first piece."""
        whole = xxhash.xxh3_128()
        for number, data in enumerate(self._pieces(oid, entry)):
            whole.update(data)
            if number:
                write_unmarked(fd, data)
            else:
                write_all(fd, data, label)  # the mark falls halfway through the first piece
        if whole.hexdigest() != oid.digest:
            raise CorruptObject(str(oid), self._where(oid, entry))

    @contextlib.contextmanager
    def file_of(self, oid: ObjectId) -> Iterator[Path]:
        """A file holding the object's bytes, to read: a loose object's own file, or a packed
        object copied (verified) to the store's tmp/ and removed afterwards."""
        if self._entry(oid) is None:
            if not self.exists(oid):
                raise MissingObjects([str(oid)])
            yield self.path_of(oid)
            return
        tmp_dir = self._tmp_dir()
        dst = temp_name(tmp_dir, oid.digest)
        self.export(oid, dst, tmp_dir, executable=False, hardlink=False)
        try:
            yield dst
        finally:
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()

    def stream(self, oid: ObjectId, block: int = 1 << 20) -> Iterator[bytes]:
        """The object's bytes in pieces of at most a chunk or ``block``, unverified: the caller
        hashes them (a packed object is read where it lies, never copied out whole)."""
        entry = self._entry(oid)
        if entry is not None:
            yield from self._pieces(oid, entry)
            return
        try:
            handle = open(self._str_path(oid), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise MissingObjects([str(oid)]) from None
        with handle:
            while data := handle.read(block):
                yield data

    def read_bytes(self, oid: ObjectId, max_size: int | None = None) -> bytes:
        """The object's bytes, verified against its id (used for small objects: trees, patches).

        One larger than ``max_size`` (default ``MAX_IN_MEMORY``) is refused before it is read.
        """
        limit = MAX_IN_MEMORY if max_size is None else max_size
        entry = self._entry(oid)
        if entry is not None:
            size = self.size_of(oid)
            if size > limit:
                raise ObjectTooLarge(str(oid), size, limit)
            data = b"".join(self._pieces(oid, entry))
        else:
            path = self.path_of(oid)
            try:
                with open(path, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    if size > limit:
                        raise ObjectTooLarge(str(oid), size, limit)
                    data = handle.read()
            except FileNotFoundError:
                raise MissingObjects([str(oid)]) from None
        if hash_bytes(data) != oid:
            raise CorruptObject(str(oid), self._where(oid, entry))
        return data

    def verify(self, oid: ObjectId) -> bool:
        """Re-hash the stored object; False when its bytes no longer match its id."""
        entry = self._entry(oid)
        if entry is None:
            return hash_file(self.path_of(oid)) == oid
        whole = xxhash.xxh3_128()
        try:
            for data in self._pieces(oid, entry):
                whole.update(data)
        except CorruptObject:
            return False
        return whole.hexdigest() == oid.digest

    def missing(self, oids: set[ObjectId]) -> set[ObjectId]:
        return {oid for oid in oids if not self.exists(oid)}

    def iter_ids(self) -> Iterator[ObjectId]:
        """Every stored object: packed ones (chunks included), then loose ones."""
        packed = self.packs.entries()
        for digest in sorted(packed):
            yield ObjectId.xxh128(digest.hex())
        for oid in self.loose.iter_ids():
            if _digest(oid) not in packed:
                yield oid


def _close(packs: Packs, extracted: dict[ObjectId, Path]) -> None:
    packs.close()
    for path in extracted.values():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    extracted.clear()


def _digest(oid: ObjectId) -> bytes:
    return bytes.fromhex(oid.partition(":")[2])
