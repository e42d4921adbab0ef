"""Where each packed object is, in about 80 bytes per object instead of a dict of tuples.

A store of 10^6 small objects is looked up through every pack's index. Held as a ``dict`` of
``Entry`` tuples that costs ~300 bytes per object, more than everything else a command keeps
for a file. Here each object is one ``bytes`` record (digest, pack number, kind, offset,
length) in one sorted list, searched by bisection in C. Records are big-endian so that the byte
order is the (digest, pack number) order: for a digest held by several packs, the first pack
loaded wins, as ``dict.setdefault`` did.

The list is never changed in place: new packs are merged into a new list that replaces the old
one, so a thread reading while another adds a pack sees one or the other, whole.
"""

from __future__ import annotations

import struct
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

_RECORD = struct.Struct(">16sIBQQ")  # digest, pack number, kind, offset, length
_DIGEST = 16


class Entry(NamedTuple):
    pack: str  # the pack's name; "" for the pack this process is still writing
    kind: int
    offset: int
    length: int


class EntryTable(Mapping[bytes, Entry]):
    """Digest -> ``Entry`` over many packs: a read-mostly sorted list of packed records."""

    def __init__(self) -> None:
        self._records: list[bytes] = []
        self._names: list[str] = []  # pack number -> name
        self._pending: list[bytes] = []  # records of packs added since the last merge
        self._lock = threading.Lock()

    def add_pack(self, name: str, entries: Iterable[tuple[bytes, int, int, int]]) -> None:
        """Add every (digest, kind, offset, length) of pack ``name``."""
        with self._lock:
            number = len(self._names)
            self._names.append(name)
            pack = _RECORD.pack
            self._pending.extend(
                pack(digest, number, kind, offset, length)
                for digest, kind, offset, length in entries
            )

    def _sorted(self) -> list[bytes]:
        if self._pending:
            with self._lock:
                if self._pending:
                    merged = self._records + self._pending
                    merged.sort()  # two sorted runs: a linear merge for timsort
                    self._records, self._pending = merged, []
        return self._records

    def get(self, digest: bytes, default: None = None) -> Entry | None:  # type: ignore[override]
        records = self._sorted()
        i = bisect_left(records, digest)
        if i < len(records) and records[i][:_DIGEST] == digest:
            return self._entry(records[i])
        return None

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, bytes) and self.get(digest) is not None

    def __getitem__(self, digest: bytes) -> Entry:
        found = self.get(digest)
        if found is None:
            raise KeyError(digest)
        return found

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __iter__(self) -> Iterator[bytes]:
        """Each digest once, in order."""
        for record, _ in self._first():
            yield record[:_DIGEST]

    def pairs(self) -> Iterator[tuple[bytes, Entry]]:
        """(digest, entry) for each digest once, in order (what ``items()`` yields, unviewed)."""
        for record, entry in self._first():
            yield record[:_DIGEST], entry

    def _first(self) -> Iterator[tuple[bytes, Entry]]:
        previous = b""
        for record in self._sorted():
            digest = record[:_DIGEST]
            if digest != previous:
                previous = digest
                yield record, self._entry(record)

    def copy(self) -> EntryTable:
        """A table that later packs do not change (the records themselves are shared)."""
        other = EntryTable()
        other._records, other._names = self._sorted(), list(self._names)
        return other

    def clear(self) -> None:
        with self._lock:
            self._records, self._names, self._pending = [], [], []

    def _entry(self, record: bytes) -> Entry:
        _, number, kind, offset, length = _RECORD.unpack(record)
        return Entry(self._names[number], kind, offset, length)
