"""Push and fetch through remote packs (docs/format.md, "Remotes").

Push writes the objects a remote lacks into new packs (files before the trees that list them, so
a tree never becomes visible before its files: a pack's objects appear together when its index
lands, and packs are committed in order) and uploads each pack, then its index. A chunked file
travels as its chunk list plus the chunks the remote lacks. Fetch reads each wanted object by
byte range out of the remote's packs and hashes it before it enters the local store; a chunked
file's chunk list comes first, then its missing chunks, and the list is stored only once the
reassembled bytes hash to the file's id.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import xxhash

from mlv.adapters.remote_packs import RemoteEntry, RemotePacks
from mlv.errors import CorruptObject
from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.hashing import hash_bytes
from mlv.storage.outgoing import OutgoingPack
from mlv.storage.pack import BLOB, CHUNKED, PACK_LIMIT
from mlv.storage.store import ObjectStore

# A blob larger than this is fetched in pieces into a temporary file, not into memory.
_IN_MEMORY = 16 * 1024 * 1024


def digest_of(oid: ObjectId) -> bytes:
    return bytes.fromhex(oid.partition(":")[2])


class PackPusher:
    """Collects objects into outgoing packs and uploads each full pack, index last."""

    def __init__(
        self, store: ObjectStore, rpacks: RemotePacks, on_remote: set[bytes],
        advance: Callable[[int], None],
    ) -> None:
        self.store = store
        self.rpacks = rpacks
        self.sent = set(on_remote)  # digests the remote has, or will once the pack lands
        self.advance = advance
        self._pack: OutgoingPack | None = None
        self.packs_sent = 0

    def _put(self, digest: bytes, kind: int, data: bytes | memoryview) -> None:
        if digest in self.sent:
            return
        if self._pack is None:
            self._pack = OutgoingPack(self.store.root / "tmp")
        self._pack.append(digest, kind, data)
        self.sent.add(digest)
        if self._pack.size >= PACK_LIMIT:
            self.flush()

    def flush(self) -> None:
        """Upload the pack being built (if any): the pack, then its index."""
        pack, self._pack = self._pack, None
        if pack is None:
            return
        try:
            if len(pack):
                index, name = pack.seal()
                self.rpacks.upload(pack.path, index, name)
                self.packs_sent += 1
        finally:
            pack.discard()

    def discard(self) -> None:
        pack, self._pack = self._pack, None
        if pack is not None:
            pack.discard()

    def add(self, oid: ObjectId) -> None:
        """Queue one object (verified as it is read from the local store)."""
        store, digest = self.store, digest_of(oid)
        entry = store.packs.find(digest)
        if entry is not None and entry.kind == CHUNKED:
            items = chunk.decode(store.packs.read(digest, entry))
            if items is None:
                raise CorruptObject(str(oid), store.where(oid))
            whole = xxhash.xxh3_128()
            for chunk_digest, _ in items:
                data = store.read_bytes(ObjectId.xxh128(chunk_digest.hex()))  # verified
                whole.update(data)
                self._put(chunk_digest, BLOB, data)
                self.advance(len(data))
            if whole.digest() != digest:
                raise CorruptObject(str(oid), store.where(oid))
            self._put(digest, CHUNKED, chunk.encode(items))
            return
        if entry is not None or store.size_of(oid) < chunk.CHUNK_FROM:
            data = store.read_bytes(oid)  # verified
            self._put(digest, BLOB, data)
            self.advance(len(data))
            return
        self._add_loose_chunked(oid)

    def _add_loose_chunked(self, oid: ObjectId) -> None:
        """A large loose (format 1) object goes to the remote as chunks and a chunk list."""
        whole = xxhash.xxh3_128()
        items: list[tuple[bytes, int]] = []
        with open(self.store.path_of(oid), "rb") as stream:
            for data in chunk.cut(stream):
                whole.update(data)
                chunk_digest = xxhash.xxh3_128_digest(data)
                self._put(chunk_digest, BLOB, data)
                items.append((chunk_digest, len(data)))
                self.advance(len(data))
        if whole.digest() != digest_of(oid):
            raise CorruptObject(str(oid), self.store.where(oid))
        self._put(digest_of(oid), CHUNKED, chunk.encode(items))


class PackFetcher:
    """Reads wanted objects out of a remote's packs by byte range, verified, into the store."""

    def __init__(
        self, store: ObjectStore, rpacks: RemotePacks, entries: dict[bytes, RemoteEntry]
    ) -> None:
        self.store = store
        self.rpacks = rpacks
        self.entries = entries
        self._lock = threading.Lock()
        self.transferred = 0
        self.bytes = 0
        self.corrupt: list[str] = []

    def fetch(self, oids: list[ObjectId], jobs: int, advance: Callable[[int], None]) -> None:
        def get(oid: ObjectId) -> None:
            size = self._get(oid)
            with self._lock:
                if size is None:
                    self.corrupt.append(str(oid))
                else:
                    self.transferred += 1
                    self.bytes += size
            advance(size or 0)

        if oids:
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(get, oids))

    def _get(self, oid: ObjectId) -> int | None:
        """Store one object; its size, or None when the remote's bytes are not its id's."""
        digest = digest_of(oid)
        entry = self.entries[digest]
        if entry.kind == CHUNKED:
            return self._get_chunked(oid, entry)
        if entry.kind != BLOB:
            return None
        if entry.length > _IN_MEMORY:
            return self._get_large(oid, entry)
        data = self.rpacks.read(entry)
        if hash_bytes(data) != oid:
            return None
        self.store.add_bytes(data)
        return len(data)

    def _get_large(self, oid: ObjectId, entry: RemoteEntry) -> int | None:
        tmp = self.store.temp_path(oid)
        try:
            with open(tmp, "wb") as handle:
                for start in range(0, entry.length, _IN_MEMORY):
                    length = min(_IN_MEMORY, entry.length - start)
                    handle.write(self.rpacks.read_range(entry.pack, entry.offset + start, length))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return entry.length if self.store.import_temp(tmp, oid) else None

    def _get_chunked(self, oid: ObjectId, entry: RemoteEntry) -> int | None:
        store = self.store
        listing = self.rpacks.read(entry)
        items = chunk.decode(listing)
        if items is None:
            return None
        whole = xxhash.xxh3_128()
        for chunk_digest, length in items:
            chunk_id = ObjectId.xxh128(chunk_digest.hex())
            if store.exists(chunk_id):
                try:
                    data = store.read_bytes(chunk_id)
                except CorruptObject:
                    return None
            else:
                found = self.entries.get(chunk_digest)
                if found is None or found.kind != BLOB or found.length != length:
                    return None  # the remote's chunk list names a chunk it lacks: refused
                data = self.rpacks.read(found)
                if xxhash.xxh3_128_digest(data) != chunk_digest:
                    return None
                store.packs.add(chunk_digest, BLOB, data)  # a valid chunk, whatever follows
            whole.update(data)
        if whole.digest() != digest_of(oid):
            return None
        store.packs.add(digest_of(oid), CHUNKED, listing)
        return sum(length for _, length in items)
