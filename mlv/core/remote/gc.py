"""``mlv gc --remote``: delete the remote's packs nothing needs, rewrite those mostly dead.

What is live is what every revision this clone knows keeps (gc's default scope: branches, tags,
remote-tracking branches, stash, reflogs, the index and the work tree), computed by the live-set
function local gc uses (``kept.live_set``): the files of every tree (read from the local store,
else from the remote) and the chunks of every live chunked file (its list read from the remote).
The remote's packs are then planned by the planner local gc uses (``storage/repack.py``), and
this module's executor carries the plan out under the remote's gc lock, in an order that never
hides a live object from a reader: the new packs and their indexes first, then each old index,
then each old pack (docs/format.md, "gc of a remote"). A pack younger than the grace period is
never touched, indexed or not: a push may still be uploading it, or its revisions may not be in
git yet. Loose (format 1) objects stay.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import xxhash

from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_lock import remote_gc_lock
from mlv.adapters.remote_packs import RemoteEntry, RemotePacks
from mlv.core.objects.kept import (
    HISTORY,
    ChunkLists,
    Named,
    at_commits,
    current,
    live_set,
    scope_commits,
)
from mlv.core.objects.sharing import using_store
from mlv.core.project import Project
from mlv.core.remote.pack_in import spans
from mlv.core.remote.resolve import DEFAULT_JOBS, index_cache_of, open_remote
from mlv.errors import CheckFailed, MissingObjects, MlvError
from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.outgoing import OutgoingPack
from mlv.storage.pack import BLOB, CHUNKED, PACK_LIMIT
from mlv.storage.repack import Collect, PackFacts, Plan, Rewrite, Verify, plan_repack, readers_of

# A pack (indexed or not) modified less than this long ago is left as it is.
GRACE_SECONDS = 24 * 3600


@dataclass
class RemoteGcResult:
    remote: str
    dry_run: bool
    live_objects: int = 0  # objects the kept revisions need (with chunks), wherever they are
    removed_objects: int = 0  # objects no pack on the remote holds any more
    removed_bytes: int = 0
    deleted_packs: list[str] = field(default_factory=list)  # no live object: deleted
    rewritten_packs: list[str] = field(default_factory=list)  # live objects copied, then deleted
    new_packs: list[str] = field(default_factory=list)
    unindexed_removed: list[str] = field(default_factory=list)  # left by killed pushes
    young_packs: int = 0  # within the grace period: untouched
    damaged_packs: list[str] = field(default_factory=list)  # left for `mlv verify --remote`
    bytes_before: int = 0  # the size of the remote's packs/ before and after
    bytes_after: int = 0


def gc_remote(
    project: Project,
    remote_name: str | None = None,
    *,
    dry_run: bool = False,
    grace: float = GRACE_SECONDS,
    jobs: int = DEFAULT_JOBS,
) -> RemoteGcResult:
    """Repack the remote's packs down to what the kept revisions need."""
    remote = open_remote(project, remote_name, writing=not dry_run)
    result = RemoteGcResult(remote.name, dry_run)
    # A dry run writes nothing, not even the lock: its figures may be off while another gc runs.
    with using_store(project), remote_gc_lock(remote) if not dry_run else contextlib.nullcontext():
        rpacks = RemotePacks(remote, index_cache_of(project))
        entries = rpacks.entries(jobs)
        live = _live(project, remote, rpacks, entries)
        result.live_objects = len(live)
        _RemoteRepack(project, rpacks, result).run(entries, live, grace)
    return result


def _live(
    project: Project, remote: RemoteStore, rpacks: RemotePacks, entries: Mapping[bytes, RemoteEntry]
) -> set[bytes]:
    """Digests of everything the kept revisions need, chunks of chunked files included."""
    named = Named()
    current(project, named)
    at_commits(project, scope_commits(project, HISTORY), named)
    trees = _RemoteTrees(project, remote, rpacks, entries)
    live = live_set([(named, False)], trees, _chunk_lists(remote, rpacks, entries), _refuse)
    return {bytes.fromhex(o.digest) for o in live.everything() if o.algorithm == "xxh128"}


def _refuse(unreadable: set[ObjectId]) -> CheckFailed:
    return CheckFailed(
        f"kept tree object {min(unreadable)} cannot be read; gc --remote stopped, nothing changed",
        "check the store and the remote with `mlv verify --remote`",
    )


@dataclass
class _RemoteTrees:
    """Trees read from the local store, else from the remote (verified); one neither holds
    has nothing of it on the remote to keep."""

    project: Project
    remote: RemoteStore
    rpacks: RemotePacks
    entries: Mapping[bytes, RemoteEntry]
    missing: set[ObjectId] = field(default_factory=set)

    def read(self, oid: ObjectId) -> bytes:
        data = _tree_bytes(self.project, self.remote, self.rpacks, self.entries, oid)
        if data is None:
            self.missing.add(oid)
            raise MissingObjects([str(oid)])
        return data

    def absent(self, oid: ObjectId) -> bool:
        return oid in self.missing

    def may_be_tree(self, oid: ObjectId) -> bool:
        return True  # read, and passed over when it is none


def _chunk_lists(
    remote: RemoteStore, rpacks: RemotePacks, entries: Mapping[bytes, RemoteEntry]
) -> ChunkLists:
    """The chunks of the chunked files among some objects, as the remote's chunk lists say (a
    damaged list stops gc: the chunks it names cannot be known)."""

    def chunks(objects: set[ObjectId]) -> set[ObjectId]:
        digests = {bytes.fromhex(o.digest) for o in objects if o.algorithm == "xxh128"}
        lists = {d: e for d, e in entries.items() if d in digests and e.kind == CHUNKED}
        found: set[ObjectId] = set()
        for group in spans(lists):
            first, last = group[0][1], group[-1][1]
            size = last.offset + last.length - first.offset
            data = rpacks.read_range(first.pack, first.offset, size)
            for digest, entry in group:
                start = entry.offset - first.offset
                items = chunk.decode(data[start : start + entry.length])
                if items is None:
                    raise CheckFailed(
                        f"the chunk list of {ObjectId.xxh128(digest.hex())} on remote"
                        f" {remote.name} is damaged; gc --remote stopped, nothing changed",
                        "check the remote with `mlv verify --remote`",
                    )
                found.update(ObjectId.xxh128(c.hex()) for c, _ in items)
        return found

    return chunks


def _tree_bytes(
    project: Project,
    remote: RemoteStore,
    rpacks: RemotePacks,
    entries: Mapping[bytes, RemoteEntry],
    oid: ObjectId,
) -> bytes | None:
    store = project.store
    if store.exists(oid):
        return store.read_bytes(oid)  # verified
    found = entries.get(bytes.fromhex(oid.digest))
    if found is not None and found.kind == BLOB:
        data = rpacks.read(found)
    else:
        try:
            data = remote.fs.cat_file(remote.key(oid))
        except (FileNotFoundError, MlvError, OSError):
            return None
    return data if xxhash.xxh3_128_hexdigest(data) == oid.digest else b"not a tree"


@dataclass(frozen=True)
class _Grace:
    """Whether files of ``packs/`` are past the grace period (one not listed counts as old)."""

    ages: Mapping[str, float]
    now: float
    grace: float

    def __call__(self, *names: str) -> bool:
        return all(self.now - self.ages.get(n, 0.0) >= self.grace for n in names)


class _RemoteRepack:
    """Carries out a repack plan on a remote: copies read by byte range (``spans``), checked
    (``Verify.ALL``), into outgoing packs uploaded at ``PACK_LIMIT``; then the grace period
    is checked again and the old packs, their ``.keep`` marks and old leftovers go."""

    def __init__(self, project: Project, rpacks: RemotePacks, result: RemoteGcResult) -> None:
        self.project = project
        self.rpacks = rpacks
        self.result = result
        self._pack: OutgoingPack | None = None

    def run(self, entries: Mapping[bytes, RemoteEntry], live: set[bytes], grace: float) -> None:
        result, rpacks = self.result, self.rpacks
        ages = rpacks.ages()
        result.bytes_before = sum(rpacks.sizes().values())
        old = _Grace(ages, time.time(), grace)
        facts = {}
        for stem in sorted(n[: -len(".idx")] for n in ages if n.endswith(".idx")):
            if f"{stem}.pack" in ages:
                index = rpacks.index_of(stem)  # None: damaged, its pack holds nothing for readers
                young = not old(f"{stem}.pack", f"{stem}.idx", f"{stem}.keep")
                facts[stem] = PackFacts(index, young)
        plan = plan_repack(facts, Collect(live, readers_of(entries)), Verify.ALL)
        failed = (
            [] if result.dry_run else [r.pack for r in plan.rewrites if not self._copy(r, plan)]
        )
        for stem in failed:
            plan = plan.spare(stem)
        result.young_packs = len(plan.young)
        result.damaged_packs = sorted(plan.damaged + failed)
        result.rewritten_packs, result.deleted_packs = plan.rewritten, plan.deleted
        result.removed_objects, result.removed_bytes = len(plan.removed), plan.removed_bytes
        orphans = sorted(n for n in ages if n.endswith(".pack") and n[:-5] + ".idx" not in ages)
        result.unindexed_removed = [n for n in orphans if old(n)]
        marks = [n for n in ages if n.endswith(".keep") and n[:-5] + ".pack" not in ages]
        leftovers = result.unindexed_removed + sorted(n for n in marks if old(n))
        if result.dry_run:
            result.bytes_after = result.bytes_before - result.removed_bytes
        else:
            self._flush()  # every copy is on the remote, indexed, before an original goes
            self._delete([r.pack for r in plan.rewrites], leftovers, grace)
            result.bytes_after = sum(rpacks.sizes().values())

    def _delete(self, doomed: list[str], leftovers: list[str], grace: float) -> None:
        """Each old index, then its pack (and its mark); then the old leftovers. A push that
        relied on a doomed pack since the first listing marked it: that pack is spared."""
        rpacks = self.rpacks
        ages = rpacks.ages()
        old = _Grace(ages, time.time(), grace)
        for stem in doomed:
            if not old(f"{stem}.keep"):
                self.result.young_packs += 1
                continue
            rpacks.delete(f"{stem}.idx")  # a reader listing now no longer names it
            rpacks.delete(f"{stem}.pack")  # one that listed before finds the copy (PackGone)
            if f"{stem}.keep" in ages:
                rpacks.delete(f"{stem}.keep")
        for name in leftovers:
            rpacks.delete(name)

    def _copy(self, rewrite: Rewrite, plan: Plan) -> bool:
        """Copy a doomed pack's entries into the outgoing pack; False (and the pack stays) when
        one fails the plan's check (those copied before it travel too: harmless duplicates)."""
        stem = rewrite.pack
        wanted = {d: RemoteEntry(stem, kind, off, n) for d, kind, off, n in rewrite.copy}
        for group in spans(wanted):
            first, last = group[0][1], group[-1][1]
            data = self.rpacks.read_range(
                stem, first.offset, last.offset + last.length - first.offset
            )
            for digest, entry in group:
                start = entry.offset - first.offset
                piece = data[start : start + entry.length]
                if not plan.verify.sound((digest, *entry[1:]), piece):
                    return False
                self._append(digest, entry.kind, piece)
        return True

    def _append(self, digest: bytes, kind: int, data: bytes) -> None:
        if self._pack is None:
            self._pack = OutgoingPack(self.project.store.root / "tmp")
        self._pack.append(digest, kind, data)
        if self._pack.size >= PACK_LIMIT:
            self._flush()

    def _flush(self) -> None:
        pack, self._pack = self._pack, None
        if pack is None:
            return
        try:
            if len(pack):
                index, name = pack.seal()
                self.rpacks.upload(pack.path, index, name)
                self.result.new_packs.append(name)
        finally:
            pack.discard()
