"""Copies of remote pack indexes in the local store: ``<store>/remote-indexes/<name>.idx``.

A remote pack's name is the digest of its index (docs/format.md), and a pack never changes, so
an index read once need not be read again: every command then reads only the indexes of packs
it has not seen. A copy is believed only if its bytes hash to its name, like the index itself
when it comes from the remote; a damaged copy is read again from the remote. One directory
serves every remote (a pack pushed to two remotes has one name); copies of packs a remote no
longer holds are small (33 bytes an object) and harmless, since a pack is listed before its
index is looked up.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

from mlv.storage.pack import ENTRY, IndexEntries, decode_index

DIRNAME = "remote-indexes"
# The largest index believed: one of a 256 MiB pack of empty objects (each 25 bytes of header
# in the pack, 33 in the index), rounded up. A larger "index" is refused unread.
MAX_INDEX = (256 * 1024 * 1024 // 25 + 1) * ENTRY.size + 64
_NAME = re.compile(r"^[0-9a-f]{32}$")

Entries = IndexEntries


def decode_named(name: str, data: bytes) -> Entries | None:
    """The entries of the index called ``name``; None unless it is whole (its checksum) and its
    name is its digest (a pack named otherwise is no pack mlv wrote)."""
    if not _NAME.match(name) or data[-16:].hex() != name:
        return None
    return decode_index(data)


def load(cache: Path | None, name: str, size: int | None = None) -> Entries | None:
    """The cached index of pack ``name``, verified; None when there is no good copy, or when the
    remote lists its index with another ``size`` (damaged there: read it, to see as others do)."""
    if cache is None or not _NAME.match(name):
        return None
    path = cache / f"{name}.idx"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        with open(fd, "rb") as handle:
            data = handle.read(MAX_INDEX + 1)
    except OSError:  # a directory in its place
        return None
    if size is not None and size != len(data):
        return None
    return decode_named(name, data)


def forget(cache: Path | None, name: str) -> None:
    """Drop the copy of an index the remote now holds damaged, so that the next command sees
    the pack as the remote shows it (and a push sends its objects again)."""
    if cache is not None and _NAME.match(name):
        with contextlib.suppress(OSError):
            os.unlink(cache / f"{name}.idx")


def store(cache: Path | None, name: str, data: bytes) -> None:
    """Keep a verified index (best effort: a cache that cannot be written is only slower)."""
    if cache is None:
        return
    with contextlib.suppress(OSError):
        cache.mkdir(exist_ok=True)
        tmp = cache / f".{name}.{uuid.uuid4().hex[:12]}"
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
            os.replace(tmp, cache / f"{name}.idx")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
