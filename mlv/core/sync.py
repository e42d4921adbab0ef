"""``mlv push`` / ``mlv fetch`` / ``mlv pull``: move the objects revisions need to or from a remote.

Only missing objects move: the other side is asked in batches (one listing per fan-out
directory). Transfers run in parallel threads. Downloads are verified by re-hashing before they
enter the store; uploads of a directory's files happen before its tree object, so a tree present
on either side means its files are there too. An interrupted transfer leaves no partial object
under a final name, and running the command again completes it.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_packs import RemotePacks
from mlv.core.checkout import CheckoutResult, CorruptObjects, checkout
from mlv.core.pack_fetch import fetch_packed
from mlv.core.pack_transfer import digest_of, push_packs
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.references import (
    closure,
    default_revs,
    local_tree_reader,
    locks_at,
    require_locks,
    top_level,
)
from mlv.core.sharing import shares_store, using_store
from mlv.errors import CorruptObject, UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import Lock
from mlv.model.remotes import RemoteDecl
from mlv.storage import index_cache
from mlv.storage.lock import exclusive

DEFAULT_JOBS = 8


@dataclass
class TransferResult:
    remote: str
    transferred: int = 0
    bytes: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)  # not on the source side
    corrupt: list[str] = field(default_factory=list)  # refused: bytes did not match the id
    packs: int = 0  # packs uploaded (push) or read from (fetch)
    packs_read: set[str] = field(default_factory=set)  # fetch: the remote packs read from
    format_raised: bool = False  # this push marked the remote format 2 (its first packs)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.corrupt


def index_cache_of(project: Project) -> Path:
    """Where the local store keeps copies of remote pack indexes (``storage.index_cache``)."""
    return project.store.root / index_cache.DIRNAME


def resolve_remote(project: Project, name: str | None) -> RemoteDecl:
    remotes = project.declarations.remotes
    if name is not None:
        if name not in remotes:
            raise UsageError(
                f"no remote named {name!r}",
                f"remotes: {', '.join(sorted(remotes)) or '(none)'};"
                " add one with `mlv remote add NAME URL`",
            )
        return remotes[name]
    defaults = [r for r in remotes.values() if r.default]
    if defaults:
        return defaults[0]
    if len(remotes) == 1:
        return next(iter(remotes.values()))
    raise UsageError(
        "no default remote" if remotes else "no remote is configured",
        "add one with `mlv remote add NAME URL --default`, or pass -r NAME",
    )


def open_remote(project: Project, name: str | None, *, writing: bool = False) -> RemoteStore:
    """The remote, checked: a directory remote must have been initialised (never created here)."""
    remote = RemoteStore(resolve_remote(project, name), project.root)
    remote.check(writing=writing)
    return remote


def _locks_and_remote(
    project: Project, remote_name: str | None, revs: list[str] | None, what: str
) -> tuple[list[Lock], RemoteStore]:
    """The manifests to transfer for (default: HEAD and the work tree's), and the remote."""
    locks = locks_at(project, revs or default_revs(project), include_worktree=not revs)
    locks = require_locks(locks, what)
    return locks, open_remote(project, remote_name, writing=what == "push")


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
    locks, remote = _locks_and_remote(project, remote_name, revs, "push")
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
    locks, remote = _locks_and_remote(project, remote_name, revs, "fetch")
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


def pull(
    project: Project,
    remote_name: str | None = None,
    rev: str | None = None,
    *,
    jobs: int = DEFAULT_JOBS,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> tuple[TransferResult, CheckoutResult | None]:
    """Fetch what ``rev`` (default: the work tree's mlv.lock) needs, then check it out."""
    # Both locks across both steps, repository first as everywhere: gc cannot slip in between
    # the download and the checkout and delete what was just fetched. (fetch and checkout take
    # them again; a lock this process holds is counted, not taken twice.)
    with exclusive(project.process_lock):
        try:
            with using_store(project):
                revs = [rev] if rev else None
                fetched = fetch(project, remote_name, revs, jobs=jobs, progress=progress)
                if not fetched.complete:
                    return fetched, None
                return fetched, checkout(project, rev=rev, force=force, progress=progress)
        except (CorruptObject, CorruptObjects) as exc:  # damaged in the store: fetch skipped it
            from mlv.core.repair import repair_refused  # (repair uses this module)

            repair_refused(project, exc, remote_name, jobs)  # whole copies, or raises exc
        with using_store(project):
            return fetched, checkout(project, rev=rev, force=force, progress=progress)
