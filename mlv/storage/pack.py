"""Pack files: many objects in one append-only file, found through an index (docs/format.md).

A pack is written in the store's ``tmp/`` and becomes visible only when its index is renamed
into ``packs/``, after its data is on disk: a reader never sees a partial pack, and a crash
leaves only a file nobody reads. Objects are found by digest through the union of all indexes.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import xxhash

from mlv import faults
from mlv.errors import ManifestError
from mlv.model.distribution import DISTRIBUTION
from mlv.storage.entry_table import Entry, EntryTable
from mlv.storage.fsutil import fsync_path, temp_name, write_all, write_bytes_atomic

PACK_MAGIC = b"MLVPACK2"
INDEX_MAGIC = b"MLVIDX02"
FORMAT = 2  # the store format this mlv writes and the newest it reads
BLOB, CHUNKED = 0, 1
HEADER = struct.Struct("<16sBQ")  # before each object in a pack: digest, kind, length
ENTRY = struct.Struct("<16sBQQ")  # an index entry: digest, kind, offset, length
_COUNT = struct.Struct("<Q")
PACK_LIMIT = 256 * 1024 * 1024  # a pack is finished once it holds this much
_FLUSH_AT = 8 * 1024 * 1024  # appended objects are written in batches of this size
# Above the timestamp granularity of ext4, xfs, btrfs and tmpfs (a kernel tick, at most 10 ms);
# a coarser one (FAT: 2 s) could hide a pack written right after a listing until the next change.
_TICK_NS = 20_000_000


class UnknownFormat(ManifestError):
    def __init__(self, path: Path, text: str) -> None:
        super().__init__(
            f"the object store {path.parent} is in format {text!r}, newer than this mlv reads"
            f" (format {FORMAT})",
            f"upgrade mlv (pip install -U {DISTRIBUTION}, or the same in pipx or uv tool)",
        )


def encode_index(entries: Mapping[bytes, tuple[int, int, int]]) -> bytes:
    body = bytearray(INDEX_MAGIC + _COUNT.pack(len(entries)))
    for digest in sorted(entries):
        body += ENTRY.pack(digest, *entries[digest])
    return bytes(body + xxhash.xxh3_128_digest(body))


class IndexEntries:
    """The entries of one index, kept as its 33-byte records (a list of tuples would take
    ~180 bytes per object, and a remote's indexes are held for a whole push or pull)."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[tuple[bytes, int, int, int]]:
        return ENTRY.iter_unpack(self._body)

    def __len__(self) -> int:
        return len(self._body) // ENTRY.size


def decode_index(data: bytes) -> IndexEntries | None:
    """The entries of an index; None when it is damaged (its checksum does not match)."""
    if len(data) < 32 or data[:8] != INDEX_MAGIC:
        return None
    if xxhash.xxh3_128_digest(data[:-16]) != data[-16:]:
        return None
    (count,) = _COUNT.unpack_from(data, 8)
    if len(data) != 16 + count * ENTRY.size + 16:
        return None
    return IndexEntries(data[16:-16])


def iter_records(path: Path) -> Iterator[tuple[bytes, int, int, bytes]]:
    """Every object of a pack file from its record headers: (digest, kind, offset, bytes).

    Stops at the first header that runs past the end (a truncated pack)."""
    with open(path, "rb") as handle:
        if handle.read(len(PACK_MAGIC)) != PACK_MAGIC:
            return
        offset = len(PACK_MAGIC)
        while header := handle.read(HEADER.size):
            if len(header) < HEADER.size:
                return
            digest, kind, length = HEADER.unpack(header)
            data = handle.read(length)
            if len(data) < length:
                return
            offset += HEADER.size
            yield digest, kind, offset, data
            offset += length


class _Placed(Mapping[bytes, tuple[int, int, int]]):
    """Digest -> (kind, offset, length) of the objects of a pack being written, each held as
    one int: a pack of 10^6 small objects would otherwise hold 10^6 tuples (~90 bytes each)."""

    __slots__ = ("_where",)

    def __init__(self) -> None:
        self._where: dict[bytes, int] = {}

    def __setitem__(self, digest: bytes, value: tuple[int, int, int]) -> None:
        kind, offset, length = value
        if kind not in (BLOB, CHUNKED) or not 0 <= length <= _LENGTH_MASK:
            raise ValueError(f"no pack holds an object of kind {kind} and {length} bytes")
        self._where[digest] = (offset << 42) | (length << 1) | kind

    def __getitem__(self, digest: bytes) -> tuple[int, int, int]:
        packed = self._where[digest]
        return packed & 1, packed >> 42, (packed >> 1) & _LENGTH_MASK

    def __contains__(self, digest: object) -> bool:
        return digest in self._where

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


_LENGTH_MASK = (1 << 41) - 1  # lengths fit: a pack is finished at PACK_LIMIT, objects below 2 TiB


class PackWriter:
    """The pack this process is appending to, in the store's tmp/."""

    def __init__(self, tmp_dir: Path) -> None:
        self.path = temp_name(tmp_dir, "pack")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o444)
        self.buffer = bytearray(PACK_MAGIC)
        self.written = 0  # bytes of the file already written (the buffer follows them)
        self.entries = _Placed()

    @property
    def size(self) -> int:
        return self.written + len(self.buffer)

    def append(self, digest: bytes, kind: int, data: bytes | memoryview) -> None:
        self.buffer += HEADER.pack(digest, kind, len(data))
        self.entries[digest] = (kind, self.size, len(data))
        self.buffer += data
        if len(self.buffer) >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            os.lseek(self.fd, self.written, os.SEEK_SET)
            write_all(self.fd, bytes(self.buffer), str(self.path))
            self.written += len(self.buffer)
            self.buffer.clear()

    def read(self, offset: int, length: int) -> bytes:
        self.flush()
        return os.pread(self.fd, length, offset)

    def finish(self, packs_dir: Path, tmp_dir: Path) -> str:
        """Make the pack durable and visible; returns its name."""
        self.flush()
        os.fsync(self.fd)
        index = encode_index(self.entries)
        name = index[-16:].hex()
        final = packs_dir / f"{name}.pack"
        faults.step(str(final))
        os.replace(self.path, final)
        # The index last, and durable: once it is there, readers rely on the pack.
        write_bytes_atomic(packs_dir / f"{name}.idx", index, mode=0o444, tmp_dir=tmp_dir)
        fsync_path(str(packs_dir), directory=True)
        return name

    def close(self) -> None:
        os.close(self.fd)

    def discard(self, packs_dir: Path) -> None:
        """Remove the pack's files after a failed finish (its index never appeared)."""
        self.path.unlink(missing_ok=True)
        name = encode_index(self.entries)[-16:].hex()
        if not (packs_dir / f"{name}.idx").exists():
            (packs_dir / f"{name}.pack").unlink(missing_ok=True)


class Packs:
    """The packs of one store: lookup by digest, reads, and the pack being written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "packs"
        self._lock = threading.RLock()
        self._entries = EntryTable()
        self._loaded: set[str] = set()
        self._seen: int | None = None  # packs/ mtime when last listed
        self._listed_at = 0  # when (time_ns) it was last listed
        self._checked = False
        self._looked = False  # packs/ was listed at least once
        self._fds: dict[str, int] = {}
        self._writer: PackWriter | None = None
        self.damaged: list[str] = []  # indexes that failed their checksum

    def _check_format(self) -> None:
        if self._checked:
            return
        path = self.root / "format"
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if text not in ("1", "2"):
                raise UnknownFormat(path, text)
        self._checked = True

    def refresh(self, *, force: bool = False) -> None:
        """Load the indexes of packs that appeared since the last look."""
        with self._lock:
            self._check_format()
            self._looked = True
            try:
                mtime = os.stat(self.dir).st_mtime_ns
            except FileNotFoundError:
                return
            # A directory changed twice within its timestamp's granularity keeps one mtime:
            # a listing made within that granularity of the last change may have missed a
            # later one, so it is made again (as git treats racily clean files).
            racy = mtime + _TICK_NS >= self._listed_at
            if mtime == self._seen and not force and not racy:
                return
            self._seen = mtime
            self._listed_at = time.time_ns()
            for name in sorted(os.listdir(self.dir)):
                stem, _, ext = name.rpartition(".")
                if ext != "idx" or stem in self._loaded:
                    continue
                try:
                    data = (self.dir / name).read_bytes()
                except FileNotFoundError:
                    continue
                entries = decode_index(data)
                if entries is None:
                    self.damaged.append(name)
                    continue
                self._loaded.add(stem)
                self._entries.add_pack(stem, entries)

    def find(self, digest: bytes, *, refresh: bool = True) -> Entry | None:
        """Where an object is. ``refresh=False`` skips looking for packs that appeared since the
        last look (a stat of packs/ per miss): for a writer deciding whether to add an object,
        where a miss costs at most a duplicate (harmless; gc keeps one)."""
        found = self._entries.get(digest)
        if found is None:
            writer = self._writer
            if writer is not None and digest in writer.entries:
                return Entry("", *writer.entries[digest])
            if not refresh and self._looked:
                return None
            self.refresh()
            found = self._entries.get(digest)
        return found

    def entries(self) -> EntryTable:
        """Every object of every finished pack (one entry per digest), as they are now."""
        self.refresh()
        return self._entries.copy()

    def pack_names(self) -> set[str]:
        self.refresh()
        return set(self._loaded)

    def read(self, digest: bytes, entry: Entry) -> bytes:
        """The stored bytes of an object (unverified: the caller hashes them)."""
        if entry.pack == "":
            with self._lock:
                writer = self._writer
                if writer is not None and digest in writer.entries:
                    _, offset, length = writer.entries[digest]
                    return writer.read(offset, length)
                entry = self._entries[digest]  # finished meanwhile, by another thread
        return os.pread(self._fd(entry.pack), entry.length, entry.offset)

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            with self._lock:
                fd = self._fds.get(name)
                if fd is None:
                    fd = os.open(self.dir / f"{name}.pack", os.O_RDONLY)
                    self._fds[name] = fd
        return fd

    def add(self, digest: bytes, kind: int, data: bytes | memoryview) -> None:
        """Append an object to the pack being written (thread-safe)."""
        with self._lock:
            if self._writer is None:
                self._check_format()
                tmp = self.root / "tmp"
                tmp.mkdir(parents=True, exist_ok=True)
                self._writer = PackWriter(tmp)
            elif digest in self._writer.entries:
                return
            self._writer.append(digest, kind, data)
            if self._writer.size >= PACK_LIMIT:
                self._finish()

    def finish(self) -> int:
        """Make the objects added so far durable and visible; returns how many there were."""
        with self._lock:
            return self._finish()

    def _finish(self) -> int:
        writer = self._writer
        if writer is None:
            return 0
        try:
            if not writer.entries:
                os.unlink(writer.path)
                return 0
            try:
                self.dir.mkdir(exist_ok=True)
                version = self.root / "format"
                if not version.exists():
                    write_bytes_atomic(version, f"{FORMAT}\n".encode(), tmp_dir=self.root / "tmp")
                name = writer.finish(self.dir, self.root / "tmp")
            except BaseException:
                # A full disk, say: nothing half-made stays (a pack not indexed is unread).
                writer.discard(self.dir)
                raise
            self._entries.add_pack(
                name, ((digest, *where) for digest, where in sorted(writer.entries.items()))
            )
            self._loaded.add(name)
            return len(writer.entries)
        finally:
            writer.close()
            self._writer = None

    def close(self) -> None:
        with self._lock:
            self._finish()
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def forget(self, names: set[str]) -> None:
        """Drop removed packs (gc): the indexes are read again on the next lookup."""
        with self._lock:
            for name in names:
                fd = self._fds.pop(name, None)
                if fd is not None:
                    os.close(fd)
            self._loaded.clear()
            self._entries.clear()
            self._seen = None
            self._looked = False
