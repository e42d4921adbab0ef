"""gc's part of the pack format: delete packs nothing needs, rewrite those mostly dead.

A pack whose live bytes fall below ``REWRITE_BELOW`` of its size (or any small pack holding a
dead object) is rewritten: its live objects
are copied (verified) into a new pack, which is finished (durable, indexed) before the old
pack's index and then the old pack are deleted, so every live object stays readable at every
step. The caller holds the store's lock alone: no other process is writing a pack meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import xxhash

from mlv import faults
from mlv.storage.pack import BLOB, Packs, decode_index

REWRITE_BELOW = 0.5  # rewrite a large pack once less than this share of its bytes is live
SMALL_PACK = 32 * 1024 * 1024  # a pack this small is rewritten for any dead object: it is cheap


@dataclass
class Repack:
    removed: set[bytes] = field(default_factory=set)  # digests no pack holds any more
    removed_bytes: int = 0
    deleted_packs: list[str] = field(default_factory=list)
    rewritten_packs: list[str] = field(default_factory=list)


def repack(packs: Packs, live: set[bytes], *, dry_run: bool) -> Repack:
    """Drop the packed objects not in ``live`` where that is worth a rewrite."""
    result = Repack()
    owner = packs.entries()  # digest -> the entry readers use
    kept: set[bytes] = set()  # digests still held by a pack that stays or is written
    doomed: list[str] = []
    for name in sorted(packs.pack_names()):
        entries = list(decode_index((packs.dir / f"{name}.idx").read_bytes()) or ())
        mine = [e for e in entries if e[0] in live and owner[e[0]].pack == name]
        total = sum(e[3] for e in entries)
        live_bytes = sum(e[3] for e in mine)
        worth = live_bytes < total and (total < SMALL_PACK or live_bytes < REWRITE_BELOW * total)
        if not worth or not _intact(packs, name, mine):
            kept.update(e[0] for e in entries)
            continue
        doomed.append(name)
        if mine:
            result.rewritten_packs.append(name)
        else:
            result.deleted_packs.append(name)
        result.removed.update(e[0] for e in entries)
        result.removed_bytes += total - live_bytes
        if not dry_run:
            fd = os.open(packs.dir / f"{name}.pack", os.O_RDONLY)
            try:
                for digest, kind, offset, length in mine:
                    packs.add(digest, kind, os.pread(fd, length, offset))
            finally:
                os.close(fd)
        kept.update(e[0] for e in mine)
    result.removed -= kept
    if not dry_run:
        packs.finish()  # the copies are durable and indexed before an original goes
        for name in doomed:
            for ext in ("idx", "pack"):  # the index first: no reader relies on a lost pack
                path = packs.dir / f"{name}.{ext}"
                faults.step(str(path))
                path.unlink(missing_ok=True)
        packs.forget(set(doomed))
        remove_unindexed(packs)
    return result


def _intact(packs: Packs, name: str, entries: list[tuple[bytes, int, int, int]]) -> bool:
    """Whether every live blob of the pack still hashes to its id: a damaged pack is left as
    it is, for `mlv verify` to report, rather than rewritten around the damage."""
    fd = os.open(packs.dir / f"{name}.pack", os.O_RDONLY)
    try:
        for digest, kind, offset, length in entries:
            if kind == BLOB and xxhash.xxh3_128_digest(os.pread(fd, length, offset)) != digest:
                return False
    finally:
        os.close(fd)
    return True


def remove_unindexed(packs: Packs) -> int:
    """Delete packs without an index: left by a process killed between its two renames."""
    if not packs.dir.is_dir():
        return 0
    names = os.listdir(packs.dir)
    removed = 0
    for name in names:
        stem, _, ext = name.rpartition(".")
        if ext == "pack" and f"{stem}.idx" not in names:
            faults.step(str(packs.dir / name))
            (packs.dir / name).unlink(missing_ok=True)
            removed += 1
    return removed
