"""Content-defined chunking of large files (FastCDC, compiled: ``pyfastcdc``).

A file of ``CHUNK_FROM`` bytes or more is stored as a list of chunks. Cut points depend only on
the bytes around them, so an edit, an insertion or an append changes the chunks near it and the
rest are already stored. The parameters are in docs/format.md; changing them never changes what
an existing id means, since a chunked file is read through its own chunk list.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import xxhash

from mlv.storage.entry_table import Entry
from mlv.storage.pack import BLOB, CHUNKED, Packs

CHUNK_FROM = 4 * 1024 * 1024
AVERAGE = 256 * 1024
MINIMUM = 64 * 1024
MAXIMUM = 1024 * 1024
_ITEM = struct.Struct("<16sQ")  # one chunk of a chunk list: digest, length


def cut(stream: BinaryIO) -> Iterator[memoryview]:
    """The chunks of a stream, in order (each view is valid until the next one is asked for)."""
    from pyfastcdc import FastCDC  # compiled; imported when a large file is first stored

    chunker = FastCDC(avg_size=AVERAGE, min_size=MINIMUM, max_size=MAXIMUM)
    for chunk in chunker.cut_stream(stream):
        yield chunk.data


def encode(chunks: list[tuple[bytes, int]]) -> bytes:
    return b"".join(_ITEM.pack(digest, length) for digest, length in chunks)


def decode(data: bytes) -> list[tuple[bytes, int]] | None:
    """A chunk list's (digest, length) items; None when the bytes cannot be one."""
    if len(data) % _ITEM.size:
        return None
    return list(_ITEM.iter_unpack(data))


class Broken(Exception):
    """A chunk list that cannot be read back: its bytes, or a chunk it names, are damaged."""


def store(packs: Packs, src: Path, digest: bytes) -> bool:
    """Store ``src`` as chunks and a chunk list under ``digest``; only chunks not stored yet are
    written. False (and no chunk list) when the bytes read do not hash to ``digest``."""
    with open(src, "rb") as stream:
        whole, items, _ = _store_chunks(packs, stream)
    if whole != digest:
        return False
    packs.add(digest, CHUNKED, encode(items))
    return True


def store_stream(
    packs: Packs, stream: BinaryIO, on_bytes: Callable[[int], None] | None = None
) -> tuple[bytes, bool]:
    """Chunk, hash and store a stream in one pass: the digest of its whole content, and whether
    its chunk list was added (False: the file was stored already).

    The chunk list is stored under the digest of the very bytes its chunks hold, so what is
    stored is what was hashed, whatever happens to the file meanwhile.
    """
    whole, items, new = _store_chunks(packs, stream, on_bytes)
    if packs.find(whole, refresh=False) is not None:  # (a file of one chunk: that blob)
        return whole, new
    packs.add(whole, CHUNKED, encode(items))
    return whole, True


def _store_chunks(
    packs: Packs, stream: BinaryIO, on_bytes: Callable[[int], None] | None = None
) -> tuple[bytes, list[tuple[bytes, int]], bool]:
    """The stream's digest and chunk list, storing chunks not stored yet (and whether any
    was)."""
    whole = xxhash.xxh3_128()
    items: list[tuple[bytes, int]] = []
    new = False
    for data in cut(stream):
        whole.update(data)
        chunk_digest = xxhash.xxh3_128_digest(data)
        if packs.find(chunk_digest, refresh=False) is None:
            packs.add(chunk_digest, BLOB, data)
            new = True
        items.append((chunk_digest, len(data)))
        if on_bytes is not None:
            on_bytes(len(data))
    return whole.digest(), items, new


def listed(packs: Packs, digest: bytes, entry: Entry) -> list[tuple[bytes, int]]:
    items = decode(packs.read(digest, entry))
    if items is None:
        raise Broken("its chunk list is damaged")
    return items


def pieces(packs: Packs, digest: bytes, entry: Entry) -> Iterator[bytes]:
    """A chunked file's bytes, chunk by chunk (unverified: the caller hashes them)."""
    for chunk_digest, length in listed(packs, digest, entry):
        found = packs.find(chunk_digest)
        if found is None or found.length != length:
            raise Broken(f"chunk {chunk_digest.hex()} is missing")
        yield packs.read(chunk_digest, found)
