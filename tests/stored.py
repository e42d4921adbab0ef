"""Damage objects in a store as a disk or a hand would, loose or packed (docs/format.md).

Packed objects are found from the pack indexes directly (``tests.crash.packed_entries``), not
through mlv's reader, and damaged in place inside their pack.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.crash import packed_entries

LOOSE_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "one byte flipped": lambda data: data[:-1] + bytes([data[-1] ^ 1]),
    "truncated": lambda data: data[: len(data) // 2],
    "emptied": lambda data: b"",
    "grown": lambda data: data + b"\0",
    "another object's bytes": lambda data: b"a different, valid file\n",
}
# In a pack an object's length is the index's: damage keeps it, or cuts the pack short.
PACK_DAMAGE = ("one byte flipped", "zeroed", "another object's bytes", "pack truncated")


def where(cache: Path, oid: str) -> tuple[Path, int, int] | None:
    """(pack, offset, length) of a packed object; None when it is not packed."""
    for digest, _kind, offset, length, pack in packed_entries(cache):
        if f"xxh128:{digest.hex()}" == oid:
            return pack, offset, length
    return None


def damage_packed(cache: Path, oid: str, how: str) -> Path:
    """Damage the packed object ``oid`` in its pack; returns the pack."""
    found = where(cache, oid)
    assert found is not None, f"{oid} is not packed"
    pack, offset, length = found
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.seek(offset)
        data = handle.read(length)
        if how == "pack truncated":
            handle.truncate(offset + length // 2)
            return pack
        if how == "one byte flipped":
            new = data[:-1] + bytes([data[-1] ^ 1])
        elif how == "zeroed":
            new = bytes(length)
        else:
            new = (b"a different, valid file\n" * (length // 24 + 1))[:length]
        handle.seek(offset)
        handle.write(new)
    return pack


def damage_loose(cache: Path, oid: str, how: str) -> Path:
    algorithm, _, digest = oid.partition(":")
    path = cache / algorithm / digest[:2] / digest[2:]
    path.chmod(0o644)
    path.write_bytes(LOOSE_DAMAGE[how](path.read_bytes()))
    os.chmod(path, 0o444)
    return path


def delete_object(cache: Path, oid: str) -> None:
    """Remove one object from the store, loose or packed (its pack is rewritten without it)."""
    from mlv.storage.repack_local import repack
    from mlv.storage.store import ObjectStore

    algorithm, _, digest = oid.partition(":")
    (cache / algorithm / digest[:2] / digest[2:]).unlink(missing_ok=True)
    if where(cache, oid) is None:
        return
    store = ObjectStore(cache)
    live = set(store.packs.entries()) - {bytes.fromhex(digest)}
    result = repack(store.packs, live, dry_run=False)
    assert bytes.fromhex(digest) in result.removed
    store.close()


def overwrite_object(cache: Path, oid: str, data: bytes) -> Path:
    """Make the store hold ``data`` under ``oid``: a loose file (a packed copy is removed)."""
    delete_object(cache, oid)
    algorithm, _, digest = oid.partition(":")
    path = cache / algorithm / digest[:2] / digest[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
