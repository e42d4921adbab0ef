"""Re-get damaged objects from a remote (``mlv verify --repair``, and ``mlv pull`` when checkout
refuses a corrupt object).

A damaged packed object cannot simply be fetched again: the local index says it is present,
and readers would keep finding the damaged copy. So the damaged copies are dropped first (a
loose file deleted; a pack rewritten without them: the repack planner's ``Drop`` policy, carried
out as gc's plans are, the copy finished before the old index and then the old pack go), then
fetched as missing objects, verified on arrival. Only what the remote holds is dropped: a
damaged copy the remote cannot replace stays, reported. A chunked file is repaired through its
chunks: only the damaged chunks travel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mlv import faults
from mlv.core.objects.sharing import store_alone
from mlv.core.project import Project
from mlv.core.remote.fetch import fetch_objects
from mlv.core.remote.pack_in import remote_sizes
from mlv.core.remote.resolve import DEFAULT_JOBS, index_cache_of, open_remote
from mlv.errors import CorruptObject, CorruptObjects
from mlv.model.ids import ObjectId
from mlv.storage.lock import exclusive
from mlv.storage.pack import CHUNKED
from mlv.storage.repack import Drop, plan_repack
from mlv.storage.repack_local import carry_out, local_facts
from mlv.storage.store import ObjectStore


@dataclass
class RepairResult:
    remote: str
    repaired: list[str] = field(default_factory=list)  # now whole (verified)
    unrepaired: list[str] = field(default_factory=list)  # the remote lacks them or sent bad bytes
    refetched: int = 0  # objects downloaded (a chunked file's damaged chunks, not the file)


def repair(
    project: Project,
    damaged: Iterable[ObjectId],
    remote_name: str | None = None,
    *,
    jobs: int = DEFAULT_JOBS,
) -> RepairResult:
    """Replace ``damaged`` (corrupt or missing objects) with verified copies from the remote."""
    wanted = sorted(set(damaged))
    remote = open_remote(project, remote_name)
    result = RepairResult(remote.name)
    with exclusive(project.process_lock), store_alone(project):
        store = project.store
        targets = _targets(store, wanted)
        held = set(remote_sizes(remote, targets, jobs, index_cache_of(project)))
        _drop(store, held)
    result.refetched = fetch_objects(project, held, jobs, remote_name=remote.name)
    for oid in wanted:
        ok = project.store.exists(oid) and project.store.verify(oid)
        (result.repaired if ok else result.unrepaired).append(str(oid))
    return result


def repair_refused(
    project: Project, exc: CorruptObject | CorruptObjects, remote_name: str | None, jobs: int
) -> None:
    """Repair the objects a checkout refused as corrupt; re-raise ``exc`` if any stays so."""
    ids = exc.object_ids if isinstance(exc, CorruptObjects) else [exc.object_id]
    if repair(project, {ObjectId.parse(i) for i in ids}, remote_name, jobs=jobs).unrepaired:
        raise exc


def _targets(store: ObjectStore, oids: list[ObjectId]) -> set[ObjectId]:
    """What must travel: each missing or damaged object, except that a chunked file whose
    chunk list is intact is repaired through its damaged or missing chunks."""
    found: set[ObjectId] = set()
    for oid in oids:
        entry = store.packs.find(bytes.fromhex(oid.digest))
        chunks = store.chunks_of(oid) if entry is not None and entry.kind == CHUNKED else []
        if chunks:
            found.update(c for c in chunks if not (store.exists(c) and store.verify(c)))
        elif not (store.exists(oid) and store.verify(oid)):
            found.add(oid)
    return found


def _drop(store: ObjectStore, oids: set[ObjectId]) -> None:
    """Delete the local copies of ``oids``: loose files, and their records in every pack (each
    pack holding one is rewritten without it, the rest copied as it is: other damage stays
    for `mlv verify` to name)."""
    for oid in sorted(oids):
        path = store.path_of(oid)
        if path.exists():
            faults.step(str(path))
            path.unlink()
    digests = {bytes.fromhex(o.digest) for o in oids}
    if digests:
        packs = store.packs
        carry_out(packs, plan_repack(local_facts(packs), Drop(digests)), dry_run=False)
