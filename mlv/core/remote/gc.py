"""``mlv gc --remote``: delete the remote's packs nothing needs, rewrite those mostly dead.

What is live is what every revision this clone knows keeps (gc's default scope: branches, tags,
remote-tracking branches, stash, reflogs, the index and the work tree), with the files of every
tree (read from the local store, else from the remote) and the chunks of every chunked file.
The remote's packs are then repacked as the local store's are (``storage/repack.py``), under the
remote's gc lock, in an order that never hides a live object from a reader: the new packs and
their indexes first, then each old index, then each old pack (docs/format.md, "gc of a remote").
A pack younger than the grace period is never touched, indexed or not: a push may still be
uploading it, or its revisions may not be in git yet. Loose (format 1) objects stay.
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
from mlv.core.objects.kept import HISTORY, Named, at_commits, current, scope_commits
from mlv.core.objects.sharing import using_store
from mlv.core.objects.trees import reach
from mlv.core.project import Project
from mlv.core.remote.pack_in import spans
from mlv.core.remote.resolve import DEFAULT_JOBS, index_cache_of, open_remote
from mlv.errors import CheckFailed, MissingObjects, MlvError
from mlv.model.ids import ObjectId
from mlv.storage import chunk
from mlv.storage.outgoing import OutgoingPack
from mlv.storage.pack import BLOB, CHUNKED, PACK_LIMIT
from mlv.storage.repack import REWRITE_BELOW, SMALL_PACK

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
        _Repack(project, rpacks, entries, live, result).run(grace)
    return result


def _live(
    project: Project, remote: RemoteStore, rpacks: RemotePacks, entries: Mapping[bytes, RemoteEntry]
) -> set[bytes]:
    """Digests of everything the kept revisions need, chunks of chunked files included."""
    named = Named()
    current(project, named)
    at_commits(project, scope_commits(project, HISTORY), named)
    objects = named.objects | named.salvaged
    absent: set[ObjectId] = set()

    def read(oid: ObjectId) -> bytes:
        data = _tree_bytes(project, remote, rpacks, entries, oid)
        if data is None:
            absent.add(oid)
            raise MissingObjects([str(oid)])
        return data

    for roots in (named.trees, named.salvaged - named.trees):
        got = reach(read, sorted(roots))
        objects.update(got.files | got.trees)
        # A top tree neither here nor there: nothing of it to keep; a salvaged id: maybe no tree.
        bad = got.unreadable - (roots & absent if roots is named.trees else roots)
        if bad:
            raise CheckFailed(
                f"kept tree object {min(bad)} cannot be read; gc --remote stopped, nothing changed",
                "check the store and the remote with `mlv verify --remote`",
            )
    live = {bytes.fromhex(o.digest) for o in objects if o.algorithm == "xxh128"}
    lists = {d: e for d, e in entries.items() if d in live and e.kind == CHUNKED}
    for group in spans(lists):
        first, last = group[0][1], group[-1][1]
        data = rpacks.read_range(first.pack, first.offset, last.offset + last.length - first.offset)
        for digest, entry in group:
            start = entry.offset - first.offset
            items = chunk.decode(data[start : start + entry.length])
            if items is None:
                raise CheckFailed(
                    f"the chunk list of {ObjectId.xxh128(digest.hex())} on remote"
                    f" {remote.name} is damaged; gc --remote stopped, nothing changed",
                    "check the remote with `mlv verify --remote`",
                )
            live.update(c for c, _ in items)
    return live


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


class _Repack:
    def __init__(
        self,
        project: Project,
        rpacks: RemotePacks,
        entries: Mapping[bytes, RemoteEntry],
        live: set[bytes],
        result: RemoteGcResult,
    ) -> None:
        self.project = project
        self.rpacks = rpacks
        self.owner = entries  # digest -> the entry readers use
        self.live = live
        self.result = result
        self._pack: OutgoingPack | None = None

    def run(self, grace: float) -> None:
        result, rpacks = self.result, self.rpacks
        ages = rpacks.ages()
        sizes = rpacks.sizes()
        result.bytes_before = sum(sizes.values())
        now = time.time()

        def old(*names: str) -> bool:
            return all(now - ages.get(n, 0.0) >= grace for n in names)  # absent: old

        kept: set[bytes] = set()
        removed: set[bytes] = set()
        doomed: list[str] = []
        for stem in sorted(n[: -len(".idx")] for n in ages if n.endswith(".idx")):
            pack, idx = f"{stem}.pack", f"{stem}.idx"
            if pack not in ages:
                continue
            index = rpacks.index_of(stem)
            if index is None:  # a damaged index: its pack holds nothing for readers
                result.damaged_packs.append(stem)
                continue
            if not old(pack, idx, f"{stem}.keep"):
                result.young_packs += 1
                kept.update(e[0] for e in index)
                continue
            mine = [e for e in index if e[0] in self.live and self._owns(stem, e[0])]
            total = sum(e[3] for e in index)
            live_bytes = sum(e[3] for e in mine)
            worth = live_bytes < total and (
                total < SMALL_PACK or live_bytes < REWRITE_BELOW * total
            )
            if not worth or (not result.dry_run and not self._copy(stem, mine)):
                if worth:
                    result.damaged_packs.append(stem)
                kept.update(e[0] for e in index)
                continue
            doomed.append(stem)
            (result.rewritten_packs if mine else result.deleted_packs).append(stem)
            removed.update(e[0] for e in index)
            result.removed_bytes += total - live_bytes
            kept.update(e[0] for e in mine)
        result.removed_objects = len(removed - kept)
        orphans = [n for n in ages if n.endswith(".pack") and n[:-5] + ".idx" not in ages]
        orphans = sorted(n for n in orphans if old(n))
        result.unindexed_removed = list(orphans)
        orphans += sorted(
            n for n in ages if n.endswith(".keep") and n[:-5] + ".pack" not in ages and old(n)
        )
        if not result.dry_run:
            self._flush()  # every copy is on the remote, indexed, before an original goes
            # A push that relied on a doomed pack since the listing above marked it: spared.
            now, ages = time.time(), rpacks.ages()
            for stem in doomed:
                if not old(f"{stem}.keep"):
                    result.young_packs += 1
                    continue
                rpacks.delete(f"{stem}.idx")  # a reader listing now no longer names it
                rpacks.delete(f"{stem}.pack")  # one that listed before finds the copy (PackGone)
                if f"{stem}.keep" in ages:
                    rpacks.delete(f"{stem}.keep")
            for name in orphans:
                rpacks.delete(name)
            result.bytes_after = sum(rpacks.sizes().values())
        else:
            result.bytes_after = result.bytes_before - result.removed_bytes

    def _owns(self, stem: str, digest: bytes) -> bool:
        """Whether this pack's copy is the one readers use (one listed since: keep it too)."""
        found = self.owner.get(digest)
        return found is None or found.pack == stem

    def _copy(self, stem: str, mine: list[tuple[bytes, int, int, int]]) -> bool:
        """Copy the live objects of a pack into the new pack; False (and the pack stays) when
        a blob among them fails its hash."""
        wanted = {d: RemoteEntry(stem, kind, off, length) for d, kind, off, length in mine}
        for group in spans(wanted):
            first, last = group[0][1], group[-1][1]
            data = self.rpacks.read_range(
                stem, first.offset, last.offset + last.length - first.offset
            )
            for digest, entry in group:
                start = entry.offset - first.offset
                piece = data[start : start + entry.length]
                if len(piece) != entry.length or (
                    entry.kind == BLOB and xxhash.xxh3_128_digest(piece) != digest
                ):
                    return False
                if entry.kind == CHUNKED and chunk.decode(piece) is None:
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
