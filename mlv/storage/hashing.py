"""Streaming xxHash3-128 of files and bytes.

Files are read in large blocks into one reused buffer, so memory stays constant whatever the
file's size. The xxhash binding releases the GIL while it hashes a large buffer (measured: two
threads hashing 1 GiB each finish in half the time of one after the other), and reads release it
too, so files are hashed in parallel with threads rather than processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import xxhash

from mlv.model.ids import ObjectId

BLOCK_SIZE = 4 * 1024 * 1024


def hash_bytes(data: bytes) -> ObjectId:
    return ObjectId.xxh128(xxhash.xxh3_128_hexdigest(data))


def hash_file(
    path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None
) -> ObjectId:
    """Hash a file's content; ``on_bytes`` is told how many bytes each block held."""
    hasher = xxhash.xxh3_128()
    buffer = bytearray(BLOCK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
            if on_bytes is not None:
                on_bytes(count)
    return ObjectId.xxh128(hasher.hexdigest())
