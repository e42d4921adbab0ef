"""Fetch out of remote packs by byte range (docs/format.md, "Remotes").

Wanted objects are grouped by pack and sorted by offset; neighbours closer than ``GAP`` are read
in one request of at most ``SPAN`` bytes, so fetching many small objects of one pack takes few
requests, and fetching one small object never downloads its whole pack. Every object is hashed
before it enters the local store. A chunked file's chunk list comes first, then the chunks the
store lacks; the list is stored only once the reassembled bytes hash to the file's id.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_packs import PackGone, RemoteEntry, RemotePacks
from mlv.errors import CorruptObject, MissingObjects
from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.pack import BLOB, CHUNKED
from mlv.storage.store import ObjectStore

GAP = 256 * 1024  # bytes not wanted that one merged read may carry between two wanted objects
SPAN = 16 * 1024 * 1024  # the largest merged read (held in memory by one thread)
_RELISTS = 3  # times a fetch lists a remote's indexes again after a pack vanished under it


def spans(wanted: Mapping[bytes, RemoteEntry]) -> list[list[tuple[bytes, RemoteEntry]]]:
    """Wanted objects in groups, each group one read of a stretch of one pack."""
    by_pack: dict[str, list[tuple[bytes, RemoteEntry]]] = defaultdict(list)
    for digest, entry in wanted.items():
        by_pack[entry.pack].append((digest, entry))
    groups: list[list[tuple[bytes, RemoteEntry]]] = []
    for items in by_pack.values():
        items.sort(key=lambda item: item[1].offset)
        group: list[tuple[bytes, RemoteEntry]] = []
        for digest, entry in items:
            if group:
                start, last = group[0][1].offset, group[-1][1]
                end = last.offset + last.length
                if entry.offset - end > GAP or entry.offset + entry.length - start > SPAN:
                    groups.append(group)
                    group = []
            group.append((digest, entry))
        if group:
            groups.append(group)
    return groups


class PackFetcher:
    """Reads wanted objects out of a remote's packs, verified, into the local store."""

    def __init__(
        self, store: ObjectStore, rpacks: RemotePacks, entries: Mapping[bytes, RemoteEntry]
    ) -> None:
        self.store = store
        self.rpacks = rpacks
        self.entries = entries
        self._lock = threading.Lock()
        self.transferred = 0
        self.bytes = 0
        self.requests = 0
        self.corrupt: list[str] = []
        self._lists: dict[bytes, bytes] = {}  # chunk lists read, by file digest

    def fetch(self, oids: list[ObjectId], jobs: int, advance: Callable[[int], None]) -> None:
        wanted = {_digest(oid): self.entries[_digest(oid)] for oid in oids}
        files = {d: e for d, e in wanted.items() if e.kind in (BLOB, CHUNKED)}
        self._bad({d for d in wanted if d not in files})
        # Round 1: whole objects and chunk lists; round 2: the chunks the store lacks.
        self._read(files, jobs, advance, self._take)
        chunks: dict[bytes, RemoteEntry] = {}
        for digest, listing in sorted(self._lists.items()):
            items = chunk.decode(listing)
            if items is None:
                self._bad({digest})
                continue
            for chunk_digest, length in items:
                found = self.entries.get(chunk_digest)
                if self._has(chunk_digest):
                    continue
                if found is None or found.kind != BLOB or found.length != length:
                    self._bad({digest})  # names a chunk the remote lacks: refused
                    break
                chunks[chunk_digest] = found
        self._read(chunks, jobs, advance, self._take_chunk)
        for digest, listing in sorted(self._lists.items()):
            if str(ObjectId.xxh128(digest.hex())) not in self.corrupt:
                self._assemble(digest, listing)

    def _has(self, digest: bytes) -> bool:
        return self.store.exists(ObjectId.xxh128(digest.hex()))

    def _bad(self, digests: set[bytes]) -> None:
        with self._lock:
            self.corrupt += sorted(str(ObjectId.xxh128(d.hex())) for d in digests)

    def _read(
        self,
        wanted: Mapping[bytes, RemoteEntry],
        jobs: int,
        advance: Callable[[int], None],
        take: Callable[[bytes, RemoteEntry, bytes], None],
    ) -> None:
        def read(group: list[tuple[bytes, RemoteEntry]]) -> None:
            first, last = group[0][1], group[-1][1]
            if len(group) == 1 and first.length > SPAN:
                self._take_large(group[0][0], first)
                advance(first.length)
                return
            data = self.rpacks.read_range(
                first.pack, first.offset, last.offset + last.length - first.offset
            )
            with self._lock:
                self.requests += 1
            for digest, entry in group:
                start = entry.offset - first.offset
                take(digest, entry, data[start : start + entry.length])
                advance(entry.length)

        groups = spans(wanted)
        if groups:
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(read, groups))

    def _take(self, digest: bytes, entry: RemoteEntry, data: bytes) -> None:
        if entry.kind == CHUNKED:
            with self._lock:
                self._lists[digest] = data
            return
        if len(data) != entry.length or xxhash.xxh3_128_digest(data) != digest:
            self._bad({digest})
            return
        self.store.add_bytes(data)
        self._count(len(data))

    def _take_chunk(self, digest: bytes, entry: RemoteEntry, data: bytes) -> None:
        # A chunk that fails is left out: the file that lists it fails when assembled.
        if len(data) == entry.length and xxhash.xxh3_128_digest(data) == digest:
            self.store.packs.add(digest, BLOB, data)

    def _take_large(self, digest: bytes, entry: RemoteEntry) -> None:
        """A blob too large for memory, read in pieces into a temporary file."""
        oid = ObjectId.xxh128(digest.hex())
        tmp = self.store.temp_path(oid)
        try:
            with open(tmp, "wb") as handle:
                for start in range(0, entry.length, SPAN):
                    length = min(SPAN, entry.length - start)
                    handle.write(self.rpacks.read_range(entry.pack, entry.offset + start, length))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if self.store.import_temp(tmp, oid):
            self._count(entry.length)
        else:
            self._bad({digest})

    def _assemble(self, digest: bytes, listing: bytes) -> None:
        """Store a chunk list once its chunks, all in the store now, hash to the file's id."""
        items = chunk.decode(listing) or []
        whole = xxhash.xxh3_128()
        try:
            for chunk_digest, _ in items:
                whole.update(self.store.read_bytes(ObjectId.xxh128(chunk_digest.hex())))
        except (CorruptObject, MissingObjects):
            self._bad({digest})
            return
        if whole.digest() != digest:
            self._bad({digest})
            return
        self.store.packs.add(digest, CHUNKED, listing)
        self._count(sum(length for _, length in items))

    def _count(self, size: int) -> None:
        with self._lock:
            self.transferred += 1
            self.bytes += size


@dataclass
class Fetched:
    transferred: int = 0
    bytes: int = 0
    corrupt: list[str] = field(default_factory=list)
    packs: set[str] = field(default_factory=set)  # the remote packs read from


def fetch_packed(
    store: ObjectStore,
    rpacks: RemotePacks,
    todo: set[ObjectId],
    jobs: int,
    advance: Callable[[int], None],
    entries: Mapping[bytes, RemoteEntry] | None = None,
) -> tuple[Fetched, set[ObjectId]]:
    """Fetch what the remote's indexes name of ``todo`` (listed now unless ``entries`` is a
    listing made earlier); returns the rest. A pack deleted since the listing (``gc --remote``
    rewrote it, after uploading the copy and its index) makes it list again and go on."""
    fetched = Fetched()
    for attempt in range(_RELISTS + 1):
        if entries is None:
            entries = rpacks.entries(jobs) if todo else {}
        packed = sorted(oid for oid in todo if _digest(oid) in entries)
        fetcher = PackFetcher(store, rpacks, entries)
        try:
            fetcher.fetch(packed, jobs, advance)
            fetched.packs |= {entries[_digest(oid)].pack for oid in packed}
        except PackGone:
            if attempt == _RELISTS:
                raise
            todo = store.missing(todo)
            entries = None
            continue
        finally:
            fetched.transferred += fetcher.transferred
            fetched.bytes += fetcher.bytes
            fetched.corrupt += fetcher.corrupt
        return fetched, todo - set(packed)
    raise AssertionError("unreachable")


def _digest(oid: ObjectId) -> bytes:
    return bytes.fromhex(oid.partition(":")[2])


def remote_sizes(
    remote: RemoteStore,
    oids: set[ObjectId],
    jobs: int = 8,
    cache: Path | None = None,
    fresh: bool = False,
) -> dict[ObjectId, int]:
    """The size of each of ``oids`` that the remote holds, loose or packed (a chunked file
    counts only when all its chunks are indexed too; its size is the sum of theirs). Only
    indexes (``cache``: the local copies) and chunk lists are read, never the objects."""
    rpacks = RemotePacks(remote, cache, fresh)
    entries = rpacks.entries(jobs) if oids else {}
    packed = {_digest(oid): oid for oid in oids if _digest(oid) in entries}
    result = {oid: entries[d].length for d, oid in packed.items() if entries[d].kind == BLOB}
    lists = {d: entries[d] for d in packed if entries[d].kind == CHUNKED}

    def sizes(group: list[tuple[bytes, RemoteEntry]]) -> dict[ObjectId, int]:
        first, last = group[0][1], group[-1][1]
        data = rpacks.read_range(first.pack, first.offset, last.offset + last.length - first.offset)
        found: dict[ObjectId, int] = {}
        for digest, entry in group:
            start = entry.offset - first.offset
            items = chunk.decode(data[start : start + entry.length])
            if items is not None and all(
                (e := entries.get(c)) is not None and e.length == n for c, n in items
            ):
                found[packed[digest]] = sum(n for _, n in items)
        return found

    with ThreadPoolExecutor(jobs) as pool:
        for part in pool.map(sizes, spans(lists)):
            result.update(part)
    result.update(remote.sizes(oids - set(result), jobs))
    return result
