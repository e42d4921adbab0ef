"""``mlv verify``: re-hash the store, check that referenced objects exist (locally or remotely)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mlv.core.objects.closure import closure, default_revs, local_tree_reader, locks_at
from mlv.core.objects.sharing import shares_store
from mlv.core.parallel import batched_map
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.remote.pack_in import remote_sizes
from mlv.core.remote.resolve import DEFAULT_JOBS, index_cache_of, open_remote
from mlv.errors import CorruptObject
from mlv.model.ids import ObjectId
from mlv.storage.store import ObjectStore


@dataclass
class VerifyResult:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # referenced by HEAD / the work tree
    # Named as a directory's tree but not one (a forged or damaged mlv.lock): checkout refuses it.
    not_trees: list[str] = field(default_factory=list)
    damaged_indexes: list[str] = field(default_factory=list)  # pack indexes failing their checksum
    remote: str | None = None
    remote_checked: int = 0
    remote_missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        problems = self.corrupt or self.missing or self.not_trees or self.damaged_indexes
        return not (problems or self.remote_missing)


@shares_store
def verify(
    project: Project,
    *,
    remote_name: str | None = None,
    check_remote: bool = False,
    jobs: int | None = None,
    progress: Progress = NULL_PROGRESS,
) -> VerifyResult:
    """Re-hash every local object; report corrupt ones and referenced ones that are missing."""
    result = VerifyResult()
    store = project.store
    ids = list(store.iter_ids()) if store.root.exists() else []
    progress.start(f"verifying {len(ids)} objects", sum(_size(store, o) for o in ids), unit="bytes")

    def check(oid: ObjectId) -> ObjectId | None:
        ok = store.verify(oid)
        progress.advance(_size(store, oid))
        return None if ok else oid

    try:
        with ThreadPoolExecutor(jobs or project.settings.jobs or 8) as pool:
            # In batches: a future per object of 10^6 would weigh more than the ids.
            found = batched_map(pool, check, ids, lambda o: _size(store, o))
            result.corrupt = sorted(str(o) for o in found if o is not None)
    finally:
        progress.finish()
    result.checked = len(ids)
    del ids, found  # 10^6 ids: not held while the needed ones are gathered below
    result.damaged_indexes = sorted(store.packs.damaged)
    locks = locks_at(project, default_revs(project), include_worktree=True)
    needed = closure(locks, local_tree_reader(project))
    missing = store.missing(needed.objects)
    result.missing = sorted(str(o) for o in missing)
    result.not_trees = sorted(
        str(o) for o in needed.unreadable_trees - missing if str(o) not in result.corrupt
    )
    if check_remote:
        remote = open_remote(project, remote_name)
        result.remote = remote.name
        head_locks = locks_at(project, default_revs(project), include_worktree=False)
        head_needed = closure(head_locks, local_tree_reader(project))
        # The remote's own indexes, not this store's copies of them: verify checks what every
        # clone would find there (a damaged index on the remote hides its pack from them); the
        # copy of a damaged one is dropped, so that the next push here sends its objects again.
        cache = index_cache_of(project)
        present = set(remote_sizes(remote, head_needed.objects, DEFAULT_JOBS, cache, fresh=True))
        result.remote_checked = len(head_needed.objects)
        result.remote_missing = sorted(
            str(o) for o in (head_needed.objects - present) | head_needed.unreadable_trees
        )
    return result


def _size(store: ObjectStore, oid: ObjectId) -> int:
    """For progress only: a chunked file whose chunk list is damaged counts as 0 (and is
    reported corrupt by the check itself)."""
    try:
        return store.size_of(oid)
    except CorruptObject:
        return 0
