"""Push through remote packs (docs/format.md, "Remotes"; fetch: ``pack_fetch``).

Push writes the objects a remote lacks into new packs (files before the trees that list them, so
a tree never becomes visible before its files: a pack's objects appear together when its index
lands, and packs are committed in order) and uploads each pack, then its index. A chunked file
travels as the chunks the remote lacks, then its chunk list; a large loose (format 1) object is
chunked on the way. Every object is verified as it is read from the local store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Set
from concurrent.futures import Future, ThreadPoolExecutor

import xxhash

from mlv.adapters.remote_lock import wait_for_gc
from mlv.adapters.remote_packs import PackGone, RemoteEntry, RemotePacks
from mlv.errors import CorruptObject
from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.lock import lock_timeout
from mlv.storage.outgoing import OutgoingPack
from mlv.storage.pack import BLOB, CHUNKED
from mlv.storage.store import ObjectStore

# A remote pack is finished once it holds this much: an interrupted push resends at most one
# unfinished pack (docs/format.md, "Remotes"), and an upload this size is a few PUTs.
REMOTE_PACK_LIMIT = 64 * 1024 * 1024


def digest_of(oid: ObjectId) -> bytes:
    return bytes.fromhex(oid.partition(":")[2])


class PackPusher:
    """Collects objects into outgoing packs and uploads each full pack, index last.

    One pack is built while the one before it uploads (in one thread, so packs still land in
    order): at most two packs are on the local disk at a time, and the writer buffers
    ``pack._FLUSH_AT`` bytes in memory. ``advance`` learns the bytes of the objects of a pack
    once that pack has landed."""

    def __init__(
        self,
        store: ObjectStore,
        rpacks: RemotePacks,
        on_remote: Set[bytes],
        advance: Callable[[int], None],
        limit: int | None = None,
    ) -> None:
        self.store = store
        self.rpacks = rpacks
        self.found = on_remote  # digests the remote had when listed
        self.sent = set(on_remote)  # digests the remote has, or will once the pack lands
        # Chunks not sent because the remote had them, by the chunked file they belong to:
        # relied on like the objects of ``rely_on`` (a gc may delete their pack meanwhile).
        self.reused: dict[bytes, ObjectId] = {}
        self.advance = advance
        self.limit = limit or REMOTE_PACK_LIMIT
        self._pack: OutgoingPack | None = None
        self._queued = 0  # object bytes read since the last pack was sealed
        self._uploader = ThreadPoolExecutor(1, thread_name_prefix="mlv-pack-upload")
        self._uploading: Future[None] | None = None
        self.packs_sent = 0
        self.bytes_sent = 0  # the packs' sizes: only the chunks the remote lacked count

    def _put(
        self,
        digest: bytes,
        kind: int,
        data: bytes | memoryview,
        counted: int,
        owner: ObjectId | None = None,
    ) -> None:
        """Append one object unless the remote has it or will; ``counted``: the bytes of the
        revision's objects this stands for (for progress); ``owner``: the chunked file a chunk
        belongs to. A full pack is sealed and sent."""
        self._queued += counted
        if digest in self.sent:
            if owner is not None and digest in self.found:
                self.reused.setdefault(digest, owner)
            return
        if self._pack is None:
            self._pack = OutgoingPack(self.store.root / "tmp")
        self._pack.append(digest, kind, data)
        self.sent.add(digest)
        if self._pack.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Seal the pack being built (if any) and upload it once the one before has landed."""
        pack, self._pack = self._pack, None
        done, self._queued = self._queued, 0
        if pack is None or not len(pack):
            if pack is not None:
                pack.discard()
            self._wait()
            self.advance(done)
            return
        try:
            index, name = pack.seal()
            self._wait()  # packs land in order, and no more than one waits on disk
        except BaseException:
            pack.discard()
            raise
        self._uploading = self._uploader.submit(self._send, pack, index, name, done)

    def _send(self, pack: OutgoingPack, index: bytes, name: str, done: int) -> None:
        try:
            self.rpacks.upload(pack.path, index, name)
        finally:
            pack.discard()
        self.packs_sent += 1
        self.bytes_sent += pack.size
        self.advance(done)

    def _wait(self) -> None:
        uploading, self._uploading = self._uploading, None
        if uploading is not None:
            uploading.result()

    def finish(self) -> None:
        """Upload what is left and wait until every pack has landed."""
        self.flush()
        self._wait()

    def discard(self) -> None:
        """Drop the pack being built; wait for an upload under way (it may land: harmless)."""
        pack, self._pack = self._pack, None
        if pack is not None:
            pack.discard()
        with contextlib.suppress(Exception):
            self._wait()
        self._uploader.shutdown()

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
                self._put(chunk_digest, BLOB, data, len(data), oid)
            if whole.digest() != digest:
                raise CorruptObject(str(oid), store.where(oid))
            self._put(digest, CHUNKED, chunk.encode(items), 0)
            return
        if entry is not None or store.size_of(oid) < chunk.CHUNK_FROM:
            data = store.read_bytes(oid)  # verified
            self._put(digest, BLOB, data, len(data))
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
                self._put(chunk_digest, BLOB, data, len(data), oid)
                items.append((chunk_digest, len(data)))
        if whole.digest() != digest_of(oid):
            raise CorruptObject(str(oid), self.store.where(oid))
        self._put(digest_of(oid), CHUNKED, chunk.encode(items), 0)


def push_packs(
    store: ObjectStore,
    rpacks: RemotePacks,
    on_remote: Mapping[bytes, RemoteEntry],
    in_packs: set[ObjectId],
    ordered: list[list[ObjectId]],
    trees: set[ObjectId],
    advance: Callable[[int], None],
) -> tuple[int, int]:
    """Objects into new packs, files first: a pack's objects appear together when its index
    lands, and packs land in order, so a tree is never visible before its files. Around it,
    what keeps a concurrent ``gc --remote`` from deleting what this push found on the remote
    (docs/format.md, "gc of a remote"). Returns the bytes uploaded (a chunked file's chunks
    that the remote had are not sent) and the packs uploaded."""
    rely_on(rpacks, on_remote, in_packs)
    pusher = PackPusher(store, rpacks, on_remote.keys(), advance)
    try:
        for batch in ordered:
            for oid in batch:
                pusher.add(oid)
        pusher.finish()
    finally:
        pusher.discard()
    # The chunks of new chunked files found on the remote: marked before the check below (a
    # gc deleting their pack after the mark spares it; one deleting it before is waited for).
    rpacks.keep({on_remote[c].pack for c in pusher.reused})
    resent, repacked = resend_lost(store, rpacks, in_packs, trees, advance, pusher.reused)
    return pusher.bytes_sent + resent, pusher.packs_sent + repacked


def rely_on(
    rpacks: RemotePacks, on_remote: Mapping[bytes, RemoteEntry], in_packs: set[ObjectId]
) -> None:
    """Mark the remote packs holding what push found there (and the chunks of such chunked
    files) as relied on: a ``gc --remote`` starting now counts them young and spares them."""
    stems: set[str] = set()
    for oid in in_packs:
        entry = on_remote[digest_of(oid)]
        stems.add(entry.pack)
        if entry.kind == CHUNKED:
            try:
                items = chunk.decode(rpacks.read(entry)) or []
            except PackGone:  # a gc deleted it since the listing: ``resend_lost`` sends it
                continue
            stems.update(on_remote[c].pack for c, _ in items if c in on_remote)
    rpacks.keep(stems)


def resend_lost(
    store: ObjectStore,
    rpacks: RemotePacks,
    in_packs: set[ObjectId],
    trees: set[ObjectId],
    advance: Callable[[int], None],
    reused: dict[bytes, ObjectId] | None = None,
) -> tuple[int, int]:
    """After the upload: once no gc holds the remote's lock, send again what push relied on
    and a gc deleted meanwhile (a gc that listed before the marks of ``rely_on``): objects, and
    the ``reused`` chunks (by the chunked file sending them again sends). Returns the bytes
    and packs sent."""
    wait_for_gc(rpacks.remote, lock_timeout())
    if not in_packs and not reused:
        return 0, 0  # relied on nothing there: nothing to lose (and no listing to hold)
    now = rpacks.entries()
    lost: set[ObjectId] = set()
    for oid in in_packs:
        entry = now.get(digest_of(oid))
        if entry is None:
            lost.add(oid)
        elif entry.kind == CHUNKED:
            items = chunk.decode(rpacks.read(entry)) or [(b"", 0)]
            if any(c not in now for c, _ in items):
                lost.add(oid)
    lost.update(owner for c, owner in (reused or {}).items() if c not in now)
    if not lost:
        return 0, 0
    pusher = PackPusher(store, rpacks, set(now), advance)
    try:
        for oid in [*sorted(lost - trees), *sorted(lost & trees)]:  # files before trees
            pusher.add(oid)
        pusher.finish()
    finally:
        pusher.discard()
    return pusher.bytes_sent, pusher.packs_sent
