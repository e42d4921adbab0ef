"""``mlv gc``: delete store objects that nothing kept references.

By default gc keeps what any git revision can still reach (see ``mlv.core.objects.kept``), so
it never deletes committed history. A narrower scope is asked for with flags; even then an object
that committed history needs and that no remote holds is removed only when forced (or confirmed).
Objects no revision reaches at all are garbage and always go. The same holds for every other
work tree sharing the store. What a manifest references is the closure push and fetch use
(artifacts, every file of a tree, stage outputs, lockfiles, code patches). The live set is
``kept.live_set`` (as for ``gc --remote``); packs are planned and rewritten by the repack
planner (``storage/repack.py``), loose objects deleted here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mlv import faults
from mlv.adapters.remote import RemoteStore
from mlv.core.objects.kept import (
    HISTORY,
    ChunkLists,
    Closure,
    Named,
    Scope,
    at_commits,
    current,
    live_set,
    scope_commits,
)
from mlv.core.objects.sharing import Sharer, sharers, store_alone
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project, open_project
from mlv.core.remote.pack_in import remote_sizes
from mlv.core.tables.records import prune_index
from mlv.errors import CheckFailed, MlvError
from mlv.model.ids import ObjectId
from mlv.storage import index_cache
from mlv.storage.fsutil import TEMP_SUFFIX
from mlv.storage.lock import exclusive
from mlv.storage.pack import CHUNKED
from mlv.storage.repack_local import repack
from mlv.storage.store import ObjectStore

_TREE_START = b'{"format":'  # how every tree object begins (a salvaged id may be a tree)
# Temporary files older than this in the store's tmp/ are leftovers of interrupted commands.
STALE_TMP_SECONDS = 24 * 3600


@dataclass
class Unbacked:
    """Objects outside a narrowed scope that committed history needs and no remote holds."""

    objects: int
    bytes: int
    unreachable_remotes: dict[str, str]  # remotes that could not be asked -> why


# Asked (interactively) whether to remove the unbacked objects anyway; the default keeps them.
Confirm = Callable[[Unbacked], bool]


@dataclass
class GcResult:
    scope: list[str]
    kept_objects: int
    removed_objects: int
    removed_bytes: int
    dry_run: bool
    other_worktrees: int = 0  # other work trees sharing the store, whose objects were kept
    unbacked_objects: int = 0
    unbacked_bytes: int = 0
    unbacked_removed: bool = False
    unreachable_remotes: dict[str, str] = field(default_factory=dict)


def gc(
    project: Project,
    scope: Scope = HISTORY,
    *,
    dry_run: bool = False,
    force: bool = False,
    confirm: Confirm | None = None,
    progress: Progress = NULL_PROGRESS,
) -> GcResult:
    """Remove what ``scope`` does not keep; history no remote holds only if forced or confirmed."""
    with (
        exclusive(project.process_lock),
        store_alone(project),
        contextlib.ExitStack() as stack,
    ):
        others = _open_sharers(project, dry_run, stack)
        progress.start("reading manifests and trees", None, unit="trees")
        try:
            roots = _scope_roots(project, scope) + _their_roots(others, scope)
            chunks = _chunk_lists(project)
            live = live_set(roots, _StoreTrees(project.store, progress), chunks, _refuse)
        finally:
            progress.finish()
        removable = _sizes(project, live.everything(), progress)
        unbacked: set[ObjectId] = set()
        unreachable: dict[str, str] = {}
        if scope.narrowed and removable:
            histories = _histories(project, others, live.closure)
            at_risk = set(removable) & set().union(*(h for _, h in histories))
            if at_risk:
                unbacked, unreachable = _unbacked(histories, at_risk, removable)
        unbacked_bytes = sum(removable[o] for o in unbacked)
        remove_unbacked = force or bool(
            unbacked
            and not dry_run
            and confirm is not None
            and confirm(Unbacked(len(unbacked), unbacked_bytes, unreachable))
        )
        # A chunked file kept for want of a backup keeps its chunks too.
        doomed = set(removable) if remove_unbacked else set(removable) - unbacked - chunks(unbacked)
        removed, removed_bytes = _remove(project, doomed, removable, dry_run=dry_run)
        if not dry_run:
            _remove_stale_tmp(project)
            prune_index(project.store)  # table summaries' index: entries of removed summaries
        return GcResult(
            scope=scope.names(),
            kept_objects=len(live.objects),
            removed_objects=removed,
            removed_bytes=removed_bytes,
            dry_run=dry_run,
            other_worktrees=len(others),
            unbacked_objects=len(unbacked),
            unbacked_bytes=unbacked_bytes,
            unbacked_removed=remove_unbacked and bool(unbacked),
            unreachable_remotes=unreachable,
        )


def _scope_roots(project: Project, scope: Scope) -> list[tuple[Named, bool]]:
    """This work tree's scope, as roots of the live set. What it has checked out (work tree,
    index, HEAD) and what a flag names must be readable (strict); the rest of history is kept
    as far as this store holds it."""
    now = Named()
    head = project.git.head()
    at_commits(project, [head] if head else [], now)
    current(project, now)
    commits = scope_commits(project, scope)
    rest = Named()
    at_commits(project, [c for c in commits if c != head], rest)
    return [(now, True), (rest, scope.narrowed)]


def _their_roots(others: list[_Other], scope: Scope) -> list[tuple[Named, bool]]:
    """What the other work trees of the store keep, as roots of the live set: never strict
    (a tree of theirs this store lacks has nothing of it here)."""
    roots = []
    for other in others:
        with other.reading():
            theirs = Named()
            current(other.project, theirs)
            at_commits(other.project, scope_commits(other.project, scope), theirs)
        roots.append((theirs, False))
    return roots


def _histories(
    project: Project, others: list[_Other], needed: Closure
) -> list[tuple[Project, set[ObjectId]]]:
    """Per work tree of the store, everything its default scope keeps: what a narrowed scope
    must not drop unless that work tree can fetch it back."""
    histories = []
    for owner, other in [(project, None), *((o.project, o) for o in others)]:
        history = needed.copy(_StoreTrees(project.store))
        named = Named()
        with other.reading() if other is not None else contextlib.nullcontext():
            at_commits(owner, scope_commits(owner, HISTORY), named)
        history.add(named, strict=False)
        if history.unreadable:
            raise _refuse(history.unreadable)
        histories.append((owner, history.objects))
    return histories


@dataclass
class _StoreTrees:
    """Trees as this store holds them: one it lacks has nothing of it here to keep."""

    store: ObjectStore
    progress: Progress = NULL_PROGRESS

    def read(self, oid: ObjectId) -> bytes:
        self.progress.advance()
        return self.store.read_bytes(oid)

    def absent(self, oid: ObjectId) -> bool:
        return not self.store.exists(oid)

    def may_be_tree(self, oid: ObjectId) -> bool:
        """Peeked, not read: a salvaged id may be a large file."""
        with contextlib.suppress(MlvError, OSError):
            return self.store.head(oid, len(_TREE_START)) == _TREE_START
        return False


def _refuse(unreadable: set[ObjectId]) -> CheckFailed:
    return CheckFailed(
        f"{len(unreadable)} kept tree object(s) are missing or corrupt "
        f"(e.g. {min(unreadable)}); gc stopped and removed nothing",
        "fetch them with `mlv fetch`, or check the store with `mlv verify`",
    )


def _sizes(
    project: Project, live: set[ObjectId], progress: Progress = NULL_PROGRESS
) -> dict[ObjectId, int]:
    """The stored objects that are not live, with their sizes."""
    if not project.store.root.exists():
        return {}
    found = {}
    progress.start("listing the store", None, unit="objects")
    try:
        for oid in project.store.iter_ids():
            progress.advance()
            if oid not in live:
                with contextlib.suppress(MlvError):  # a damaged chunk list: its pack stays
                    found[oid] = project.store.size_of(oid)
    finally:
        progress.finish()
    return found


def _chunk_lists(project: Project) -> ChunkLists:
    """The chunks of the chunked files among some objects, as this store's chunk lists say (a
    damaged list names none: its file's chunks are not kept for it)."""
    store = project.store

    def chunks(objects: set[ObjectId]) -> set[ObjectId]:
        found: set[ObjectId] = set()
        for digest, entry in store.packs.entries().items():
            oid = ObjectId.xxh128(digest.hex())
            if entry.kind == CHUNKED and oid in objects:
                found.update(store.chunks_of(oid))
        return found

    return chunks


def _remove(
    project: Project, doomed: set[ObjectId], sizes: dict[ObjectId, int], *, dry_run: bool
) -> tuple[int, int]:
    """Remove the doomed loose objects, and rewrite or delete packs mostly doomed; returns
    how many objects and bytes went (a doomed object in a pack that stays is not counted)."""
    store = project.store
    packed = store.packs.entries()
    live = {d for d in packed if ObjectId.xxh128(d.hex()) not in doomed}
    result = repack(store.packs, live, dry_run=dry_run)
    loose = [oid for oid in sorted(doomed) if store.path_of(oid).exists()]
    if not dry_run:
        for oid in loose:
            path = store.path_of(oid)
            faults.step(str(path))
            path.unlink(missing_ok=True)
    gone = {o for o in loose if bytes.fromhex(o.digest) not in packed}
    gone.update(ObjectId.xxh128(d.hex()) for d in result.removed)
    return len(gone), result.removed_bytes + sum(sizes.get(o, 0) for o in loose)


def _unbacked(
    histories: list[tuple[Project, set[ObjectId]]],
    at_risk: set[ObjectId],
    local_sizes: dict[ObjectId, int],
) -> tuple[set[ObjectId], dict[str, str]]:
    """Which of ``at_risk`` some work tree needs but cannot fetch back from one of its own
    remotes (another project's remote is no backup for this one: its `mlv pull` cannot reach
    it), and the remotes that could not be asked: those count as holding nothing.

    A remote holds an object when it lists it with the local object's size. Its bytes are not
    read (that would download everything); `mlv verify --remote` checks them.
    """
    unbacked: set[ObjectId] = set()
    unreachable: dict[str, str] = {}
    this = histories[0][0]  # the work tree gc runs in: its remotes go unlabelled
    for owner, history in histories:
        mine = at_risk & history
        held: set[ObjectId] = set()
        for decl in owner.declarations.remotes.values():
            if held == mine:
                break
            label = decl.name if owner is this else f"{decl.name} (of {owner.root})"
            try:
                remote = RemoteStore(decl, owner.root)
                cache = owner.store.root / index_cache.DIRNAME
                listed = remote_sizes(remote, mine - held, cache=cache)
            except (MlvError, OSError) as exc:
                unreachable[label] = exc.message if isinstance(exc, MlvError) else str(exc)
                continue
            held |= {oid for oid, size in listed.items() if size == local_sizes[oid]}
        unbacked |= mine - held
    return unbacked, unreachable


@dataclass
class _Other:
    """Another work tree registered as a user of the store, opened."""

    sharer: Sharer
    project: Project

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with _reading(self.sharer):
            yield


def _open_sharers(project: Project, dry_run: bool, stack: contextlib.ExitStack) -> list[_Other]:
    """The other work trees using this store, opened (and closed with ``stack``).

    A registered work tree whose directory is gone is forgotten. One that exists is kept even if
    it may have moved to another store since (its own settings or environment decide that, and
    gc cannot see the environment it runs in); one whose declarations are missing or cannot be
    read stops gc, because deleting its objects would be a guess.
    """
    found = []
    for sharer in sharers(project):
        try:
            sharer.root.stat()
        except (FileNotFoundError, NotADirectoryError):
            if not dry_run:
                sharer.entry.unlink(missing_ok=True)
            continue
        except OSError:
            pass  # reported by opening it, below
        with _reading(sharer):
            other = open_project(sharer.root)
        stack.callback(other.close)
        found.append(_Other(sharer, other))
    return found


@contextlib.contextmanager
def _reading(sharer: Sharer) -> Iterator[None]:
    """A failure to read another work tree stops gc, naming it and its users/ entry."""
    try:
        yield
    except (MlvError, OSError) as exc:
        why = exc.message if isinstance(exc, MlvError) else str(exc)
        raise CheckFailed(
            f"gc stopped and removed nothing: the work tree {sharer.root}, which shares"
            f" this store, cannot be read ({why})",
            f"fix it, or remove {sharer.entry} if it no longer uses this store",
        ) from None


def _remove_stale_tmp(project: Project) -> None:
    """Temporary files of killed commands: in the store's tmp/ (partial objects), and mlv's
    temporary files in .mlv/tmp (partial work-tree files; its other entries are not debris)."""
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp, pattern in ((project.store.root / "tmp", ""), (project.tmp_dir, TEMP_SUFFIX)):
        if not tmp.is_dir():
            continue
        for entry in os.scandir(tmp):
            if (
                entry.name.endswith(pattern)
                and entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                os.unlink(entry.path)
