"""``mlv fetch``: download the objects revisions need into the store, verified.

Packed objects come by byte range from the remote's packs (``pack_in``), the rest as loose
files; every download is re-hashed before it enters the store, and an interrupted fetch leaves
no partial object under a final name. Format 2 trees arrive one depth per batch, since a
level's sub-levels are known only once it is here.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_packs import RemotePacks
from mlv.core.objects.closure import closure, local_tree_reader, top_level
from mlv.core.objects.sharing import shares_store, using_store
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.remote.pack_in import fetch_packed
from mlv.core.remote.resolve import (
    DEFAULT_JOBS,
    TransferResult,
    index_cache_of,
    open_remote,
    transfer_scope,
)
from mlv.model.ids import ObjectId


def _download(
    project: Project,
    remote: RemoteStore,
    oids: list[ObjectId],
    jobs: int,
    progress: Progress,
    result: TransferResult,
) -> None:
    counting = threading.Lock()

    def get(oid: ObjectId) -> None:
        tmp = project.store.temp_path(oid)
        try:
            remote.download(oid, tmp)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        size = tmp.stat().st_size
        verified = project.store.import_temp(tmp, oid)
        with counting:
            if verified:
                result.transferred += 1
                result.bytes += size
            else:
                result.corrupt.append(str(oid))
        progress.advance(size)

    if oids:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(get, oids))


def _fetch_some(
    project: Project,
    remote: RemoteStore,
    rpacks: RemotePacks,
    todo: set[ObjectId],
    jobs: int,
    progress: Progress,
    result: TransferResult,
) -> set[ObjectId]:
    """Download ``todo``: from the remote's packs by byte range, the rest as loose objects.
    Returns what the remote has neither way."""
    fetched, rest = fetch_packed(project.store, rpacks, todo, jobs, progress.advance)
    result.packs_read |= fetched.packs
    result.packs = len(result.packs_read)
    result.transferred += fetched.transferred
    result.bytes += fetched.bytes
    result.corrupt += fetched.corrupt
    available = remote.present(rest, jobs)
    _download(project, remote, sorted(available), jobs, progress, result)
    return rest - available


@shares_store
def fetch(
    project: Project,
    remote_name: str | None = None,
    revs: list[str] | None = None,
    *,
    jobs: int = DEFAULT_JOBS,
    progress: Progress = NULL_PROGRESS,
) -> TransferResult:
    """Download what ``revs`` (default: HEAD and the work tree's mlv.lock) need into the store."""
    locks, remote = transfer_scope(project, remote_name, revs, "fetch")
    result = TransferResult(remote.name)
    top, _ = top_level(locks)
    rpacks = RemotePacks(remote, index_cache_of(project))
    missing: set[ObjectId] = set()
    tried: set[ObjectId] = set()  # asked of the remote once: a refused download is not retried

    def bring(wanted: set[ObjectId]) -> None:
        todo = project.store.missing(wanted) - tried
        tried.update(todo)
        missing.update(_fetch_some(project, remote, rpacks, todo, jobs, progress, result))

    progress.start("fetching", None, unit="bytes")
    try:
        # What the manifests name (trees included); then the levels of format 2 trees, one
        # batch per depth (a level's sub-levels are known once it is here); then the files.
        bring(top)
        needed = closure(locks, local_tree_reader(project), fetch=bring).objects | top
        bring(needed)
    finally:
        progress.finish()
    # One sync for the whole download: a checkout may hard-link the work tree to these objects,
    # and a truncated object left by a power cut would count as present to the next fetch.
    project.store.sync_written()
    result.missing = sorted(missing)
    result.already_there = len(needed - tried)
    return result


def fetch_objects(
    project: Project, oids: set[ObjectId], jobs: int = DEFAULT_JOBS, remote_name: str | None = None
) -> int:
    """Download these objects, those the remote has; how many arrived. Used by ``mlv diff``
    in a clone without the data (trees, table summaries), and to repair damaged objects."""
    with using_store(project):
        remote = open_remote(project, remote_name)
        todo = project.store.missing(oids)
        result = TransferResult(remote.name)
        rpacks = RemotePacks(remote, index_cache_of(project))
        _fetch_some(project, remote, rpacks, todo, jobs, NULL_PROGRESS, result)
        project.store.sync_written()
        return result.transferred
