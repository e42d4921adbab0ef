"""``mlv push``: upload the objects revisions need that the remote lacks.

Only missing objects move: the remote is asked in batches (its pack indexes, one listing per
fan-out directory for loose objects). A directory's files go before its tree object, each tree
level after the levels below it, so a tree present on the remote means its files are there too.
An interrupted push leaves no partial object under a final name; running it again completes it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_packs import RemotePacks
from mlv.core.objects.closure import closure, local_tree_reader
from mlv.core.objects.sharing import shares_store
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.remote.pack_out import digest_of, push_packs
from mlv.core.remote.resolve import (
    DEFAULT_JOBS,
    TransferResult,
    index_cache_of,
    resolve_remote,
    transfer_scope,
)
from mlv.model.ids import ObjectId


@shares_store
def push(
    project: Project,
    remote_name: str | None = None,
    revs: list[str] | None = None,
    *,
    jobs: int = DEFAULT_JOBS,
    progress: Progress = NULL_PROGRESS,
    packed: bool | None = None,
) -> TransferResult:
    """Upload what ``revs`` (default: HEAD and the work tree's mlv.lock) need, if missing: in
    packs, or one file per object when ``packed`` is False (default: the remote's ``packs``)."""
    locks, remote = transfer_scope(project, remote_name, revs, "push")
    if packed is None:
        packed = resolve_remote(project, remote_name).packs
    result = TransferResult(remote.name)
    needed = closure(locks, local_tree_reader(project))
    local_missing = project.store.missing(needed.objects) | needed.unreadable_trees
    result.missing = sorted(local_missing)
    candidates = needed.objects - local_missing if local_missing else needed.objects
    rpacks = RemotePacks(remote, index_cache_of(project))
    on_remote = rpacks.entries(jobs)
    in_packs = {oid for oid in candidates if digest_of(oid) in on_remote}
    present = in_packs | remote.present(candidates - in_packs, jobs)
    result.already_there = len(present)
    todo = candidates - present if present else candidates
    del candidates, present
    # Files before the trees that list them, each tree level after the levels below it.
    ordered = [sorted(todo - needed.trees), *needed.reached.by_height(todo & needed.trees)]
    # Sizes are held only for a loose push, which reports each object as it goes.
    sizes = {} if packed else {oid: project.store.size_of(oid) for oid in todo}
    total = sum(sizes.values()) if sizes else sum(project.store.size_of(o) for o in todo)
    progress.start(f"pushing {len(todo)} objects", total, unit="bytes")
    result.bytes = total
    transferred = len(todo)
    del todo
    try:
        if packed:
            result.bytes, result.packs = push_packs(
                project.store,
                rpacks,
                on_remote,
                in_packs,
                ordered,
                needed.trees,
                progress.advance,
            )
            result.format_raised = rpacks.raised_format
        else:
            _push_loose(project, remote, ordered, sizes, jobs, progress)
    finally:
        progress.finish()
    result.transferred = transferred
    return result


def _push_loose(
    project: Project,
    remote: RemoteStore,
    ordered: list[list[ObjectId]],
    sizes: dict[ObjectId, int],
    jobs: int,
    progress: Progress,
) -> None:
    """One file per object (format 1)."""

    def send(oid: ObjectId) -> None:
        with project.store.file_of(oid) as path:
            remote.upload(path, oid)
        progress.advance(sizes[oid])

    for batch in ordered:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(send, batch))
        # Durable before the trees that list them, and before gc may drop local copies.
        remote.sync_uploaded()
