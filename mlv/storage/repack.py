"""The one repack planner: which packs gc (local or remote) and repair keep, rewrite or delete.

Plan first, then act (as restic's prune does): ``plan_repack`` reads and writes nothing. Given
each pack's index entries and facts about it (young, index damaged) and a policy, it says which
packs stay, which are rewritten (the exact entries to copy) or deleted outright, which digests
no pack will hold and how many bytes go. Two executors carry a plan out: the local store's
(``storage/repack_local.py``) and a remote's (``core/remote/gc.py``). Both copy the entries into
new packs, finish them (durable, indexed) and only then delete each old index, then its pack, so
every kept object stays readable at every step; a pack whose copy fails the plan's check
(``Verify``) is spared (``Plan.spare``) and left for verify to report.

Policies: ``Collect`` (gc: a pack is rewritten when that is worth it, ``worth_rewriting``) and
``Drop`` (repair: every pack holding a damaged digest is rewritten without it).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import xxhash

from mlv.storage import chunk
from mlv.storage.entry_table import Entry
from mlv.storage.pack import BLOB, ENTRY, IndexEntries

REWRITE_BELOW = 0.5  # rewrite a large pack once less than this share of its bytes is live
SMALL_PACK = 32 * 1024 * 1024  # a pack this small is rewritten for any dead object: it is cheap

Record = tuple[bytes, int, int, int]  # an index entry: digest, kind, offset, length
Readers = Callable[[bytes], str | None]  # digest -> the pack a reader takes it from


class Records(Protocol):
    """A pack's index entries, iterable more than once (a list, or ``IndexEntries``)."""

    def __iter__(self) -> Iterator[Record]: ...
    def __len__(self) -> int: ...


@dataclass(frozen=True)
class PackFacts:
    """What the planner knows of one pack."""

    records: Records | None  # None: its index is damaged, so it holds nothing for readers
    young: bool = False  # untouchable: a remote pack within its grace period, or marked .keep


class Verify(enum.Enum):
    """What a copy is checked for before its old pack may go (a failure spares the pack)."""

    NOTHING = "nothing"  # repair: the rest is copied as it is; other damage is verify's to name
    BLOBS = "blobs"  # local gc: each blob copied hashes to its id
    ALL = "all"  # remote gc: that, each chunk list decodes, and no read comes back short

    def sound(self, record: Record, data: bytes) -> bool:
        """Whether ``data``, read for ``record``, may replace the pack's copy."""
        digest, kind, _, length = record
        if self is Verify.NOTHING:
            return True
        if self is Verify.ALL and len(data) != length:
            return False
        if kind == BLOB:
            return xxhash.xxh3_128_digest(data) == digest
        return self is Verify.BLOBS or chunk.decode(data) is not None


def worth_rewriting(total: int, live: int) -> bool:
    """gc's rule: a pack holding dead bytes is rewritten when it is small (cheap), or when less
    than ``REWRITE_BELOW`` of it is live (a mostly live large pack is not copied for a little)."""
    return live < total and (total < SMALL_PACK or live < REWRITE_BELOW * total)


def keeps_copy(pack: str, digest: bytes, readers: Readers) -> bool:
    """The owner rule, in this one place: of a digest several packs hold, gc keeps the copy
    readers use (``Packs.entries()`` / ``RemotePacks.entries()``: the first pack loaded); one
    the readers' table does not know (its pack was listed since) is kept where it is.

    Known flaw, left for a follow-up: after an interrupted gc both the old pack and its copy
    are indexed; when the old pack sorts first it owns the digests, so the copy counts them
    dead and may be deleted outright, while the old pack may be spared (a failed check) or its
    copy of a digest be the damaged one: the only sound copy is then the one that went. A
    change of rule is a change of this function alone."""
    found = readers(digest)
    return found is None or found == pack


def readers_of(table: Mapping[bytes, Entry]) -> Readers:
    """The pack each digest is read from, as a reader's table of entries says."""

    def pack_of(digest: bytes) -> str | None:
        found = table.get(digest)
        return None if found is None else found.pack

    return pack_of


class Policy(Protocol):
    """Which packs a plan rewrites, and what it copies out of each."""

    def copies(self, name: str, records: Records) -> list[Record] | None:
        """The entries to copy out of the pack; None: the pack stays as it is."""
        ...


@dataclass(frozen=True)
class Collect:
    """gc's policy: keep the live digests (each in the pack readers use), where worth it."""

    live: Container[bytes]
    readers: Readers

    def copies(self, name: str, records: Records) -> list[Record] | None:
        mine = [r for r in records if r[0] in self.live and keeps_copy(name, r[0], self.readers)]
        return mine if worth_rewriting(_size(records), _size(mine)) else None


@dataclass(frozen=True)
class Drop:
    """Repair's policy: every pack holding one of ``damaged`` is rewritten without it, the
    rest of it copied (every other entry: no owner rule, each pack keeps its copy)."""

    damaged: Container[bytes]

    def copies(self, name: str, records: Records) -> list[Record] | None:
        rest = [r for r in records if r[0] not in self.damaged]
        return rest if len(rest) < len(records) else None


@dataclass(frozen=True)
class Rewrite:
    """A doomed pack: the entries to copy out of it first (none: deleted outright)."""

    pack: str
    copy: IndexEntries
    total: int  # the bytes its index names

    @property
    def live_bytes(self) -> int:
        return _size(self.copy)


@dataclass(frozen=True)
class Plan:
    """What a repack does: the packs it was given and the rewrites it decided (all the rest
    follows from those: ``kept``, ``removed``...), and the check executors make of copies."""

    packs: Mapping[str, PackFacts]
    rewrites: tuple[Rewrite, ...]  # in pack-name order: the order of copies and of deletions
    verify: Verify = Verify.NOTHING

    @property
    def rewritten(self) -> list[str]:
        return [r.pack for r in self.rewrites if len(r.copy)]

    @property
    def deleted(self) -> list[str]:
        return [r.pack for r in self.rewrites if not len(r.copy)]

    @property
    def kept(self) -> list[str]:
        doomed = {r.pack for r in self.rewrites}
        return [name for name in sorted(self.packs) if name not in doomed]

    @property
    def young(self) -> list[str]:
        """Packs left for being young (a damaged index is counted as damaged, not young)."""
        return [n for n, f in sorted(self.packs.items()) if f.records is not None and f.young]

    @property
    def damaged(self) -> list[str]:
        return [name for name in sorted(self.packs) if self.packs[name].records is None]

    @functools.cached_property
    def removed(self) -> frozenset[bytes]:
        """Digests no pack holds once the plan is carried out."""
        doomed = {r.pack: r for r in self.rewrites}
        gone: set[bytes] = set()
        kept: set[bytes] = set()
        for name in sorted(self.packs):
            records = self.packs[name].records
            if records is None:
                continue
            rewrite = doomed.get(name)
            (gone if rewrite is not None else kept).update(r[0] for r in records)
            if rewrite is not None:
                kept.update(r[0] for r in rewrite.copy)
        return frozenset(gone - kept)

    @functools.cached_property
    def removed_bytes(self) -> int:
        return sum(r.total - r.live_bytes for r in self.rewrites)

    def spare(self, name: str) -> Plan:
        """The plan with ``name`` kept as it is: its copy failed the check."""
        return replace(self, rewrites=tuple(r for r in self.rewrites if r.pack != name))


def plan_repack(
    packs: Mapping[str, PackFacts], policy: Policy, verify: Verify = Verify.NOTHING
) -> Plan:
    """Decide, pack by pack in name order, what a repack does; no I/O. A pack with a damaged
    index and a young pack are never touched."""
    rewrites = []
    for name in sorted(packs):
        facts = packs[name]
        if facts.records is None or facts.young:
            continue
        copy = policy.copies(name, facts.records)
        if copy is not None:
            rewrites.append(Rewrite(name, _pack_entries(copy), _size(facts.records)))
    return Plan(packs, tuple(rewrites), verify)


def _pack_entries(records: Iterable[Record]) -> IndexEntries:
    """Entries held as their 33-byte records: a plan may list most objects of a store."""
    pack = ENTRY.pack
    return IndexEntries(b"".join(pack(*r) for r in records))


def _size(records: Iterable[Record]) -> int:
    return sum(r[3] for r in records)
