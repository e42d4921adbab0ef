"""Carrying out a repack plan (``storage/repack.py``) in the local store.

For each doomed pack in name order: its entries to copy are checked as the plan says (all of
them, before any is copied: a pack that fails adds nothing to the new pack and is spared, for
`mlv verify` to report), then appended to the pack being written. Only once that pack is
finished (durable, indexed) does any old index go, then its pack: a live object is readable at
every step, and a kill at any of the marks (``faults.step``) leaves a consistent store. The
caller holds the store's lock alone: no other process is writing a pack meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mlv import faults
from mlv.storage.pack import Packs, decode_index
from mlv.storage.repack import Collect, PackFacts, Plan, Rewrite, Verify, plan_repack, readers_of


def local_facts(packs: Packs) -> dict[str, PackFacts]:
    """The store's packs, each with its index as it is on disk now (None: damaged)."""
    return {
        name: PackFacts(decode_index((packs.dir / f"{name}.idx").read_bytes()))
        for name in sorted(packs.pack_names())
    }


def carry_out(packs: Packs, plan: Plan, *, dry_run: bool) -> Plan:
    """Check and copy, finish, then delete; returns the plan as carried out (a pack whose copy
    failed the check spared). A dry run checks, and writes and deletes nothing."""
    for rewrite in plan.rewrites:
        if not _copy(packs, rewrite, plan, dry_run=dry_run):
            plan = plan.spare(rewrite.pack)
    if dry_run:
        return plan
    packs.finish()  # the copies are durable and indexed before an original goes
    doomed = [r.pack for r in plan.rewrites]
    for name in doomed:
        for ext in ("idx", "pack"):  # the index first: no reader relies on a lost pack
            path = packs.dir / f"{name}.{ext}"
            faults.step(str(path))
            path.unlink(missing_ok=True)
    packs.forget(set(doomed))
    return plan


def _copy(packs: Packs, rewrite: Rewrite, plan: Plan, *, dry_run: bool) -> bool:
    """Check the entries to copy (all of them first), then append them unless ``dry_run``."""
    checking = plan.verify is not Verify.NOTHING
    if not checking and dry_run:
        return True
    fd = os.open(packs.dir / f"{rewrite.pack}.pack", os.O_RDONLY)
    try:
        if checking and not all(
            plan.verify.sound(record, os.pread(fd, record[3], record[2])) for record in rewrite.copy
        ):
            return False
        if not dry_run:
            for digest, kind, offset, length in rewrite.copy:
                packs.add(digest, kind, os.pread(fd, length, offset))
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


@dataclass
class Repack:
    removed: set[bytes] = field(default_factory=set)  # digests no pack holds any more
    removed_bytes: int = 0
    deleted_packs: list[str] = field(default_factory=list)
    rewritten_packs: list[str] = field(default_factory=list)


def repack(packs: Packs, live: set[bytes], *, dry_run: bool) -> Repack:
    """Local gc: drop the packed objects not in ``live`` where that is worth a rewrite (each
    blob copied verified), and packs without an index."""
    policy = Collect(live, readers_of(packs.entries()))
    done = carry_out(packs, plan_repack(local_facts(packs), policy, Verify.BLOBS), dry_run=dry_run)
    if not dry_run:
        remove_unindexed(packs)
    return Repack(set(done.removed), done.removed_bytes, done.deleted, done.rewritten)
