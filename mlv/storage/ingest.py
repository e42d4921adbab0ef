"""Hashing a work-tree file and storing it in the same read (a snapshot's new files).

The bytes stored are the bytes hashed: a small file is read whole into one buffer, hashed and
appended to the pack from it; a large one is chunked, and its chunks and whole content hashed,
in one pass. Nothing is read twice, and no file rewritten meanwhile is stored under an id that
is not its bytes'.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import xxhash

from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.hashing import hash_file
from mlv.storage.pack import BLOB
from mlv.storage.store import ObjectStore


def hash_and_add(
    store: ObjectStore,
    src: str | os.PathLike[str],
    size: int,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[ObjectId, bool]:
    """The id of ``src`` and whether it was added to ``store`` (False: stored already).

    ``size`` is what a stat said: below ``CHUNK_FROM`` the file is read whole (its size + 1
    bytes, to notice growth); a larger one, or one that grew, is chunked. A store that writes
    loose objects only hashes (``add_file`` stores later), and so does one holding loose objects
    for a large file (it may be one of them: chunking it would store its bytes a second time).
    """
    if store.write_loose or (size >= chunk.CHUNK_FROM and store.may_hold_loose()):
        return hash_file(src, on_bytes), False
    fd = os.open(src, os.O_RDONLY)
    try:
        if size < chunk.CHUNK_FROM:
            data = os.read(fd, size + 1)
            if len(data) <= size:
                digest = xxhash.xxh3_128_digest(data)
                oid = ObjectId.xxh128(digest.hex())
                if on_bytes is not None:
                    on_bytes(len(data))
                if _known(store, oid, digest):
                    return oid, False
                store.packs.add(digest, BLOB, data)
                return oid, True
            os.lseek(fd, 0, os.SEEK_SET)  # it grew meanwhile: chunk what it holds now
        with open(fd, "rb", closefd=False) as stream:
            digest, added = chunk.store_stream(store.packs, stream, on_bytes)
    finally:
        os.close(fd)
    return ObjectId.xxh128(digest.hex()), added


def _known(store: ObjectStore, oid: ObjectId, digest: bytes) -> bool:
    """Whether the object is stored, without re-listing packs/ on a miss (a writer's check: an
    object another process packed meanwhile is only stored twice, which is harmless)."""
    if store.packs.find(digest, refresh=False) is not None:
        return True
    return store.may_hold_loose() and store.loose.exists(oid)
