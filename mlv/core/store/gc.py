"""``mlv gc``: delete store objects that nothing kept references.

By default gc keeps what any git revision can still reach (see ``mlv.core.objects.kept``), so
it never deletes committed history. A narrower scope is asked for with flags; even then an object
that committed history needs and that no remote holds is removed only when forced (or confirmed).
Objects no revision reaches at all are garbage and always go. The same holds for every other
work tree sharing the store. What a manifest references is the closure push and fetch use
(artifacts, every file of a tree, stage outputs, lockfiles, code patches).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mlv import faults
from mlv.adapters.remote import RemoteStore
from mlv.core.objects.kept import HISTORY, Named, Scope, at_commits, current, scope_commits
from mlv.core.objects.sharing import Sharer, sharers, store_alone
from mlv.core.objects.trees import Reach, reach
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
from mlv.storage.repack import repack

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
        needed = _Closure(project, progress)
        progress.start("reading manifests and trees", None, unit="trees")
        try:
            _add_scope(needed, project, scope)
            for other in others:
                with other.reading():
                    theirs = Named()
                    current(other.project, theirs)
                    at_commits(other.project, scope_commits(other.project, scope), theirs)
                needed.add(theirs, strict=False)
        finally:
            progress.finish()
        needed.check()
        stored = _sizes(project, needed.objects, progress)
        removable = {o: stored[o] for o in _with_chunks(project, set(stored))}
        unbacked: set[ObjectId] = set()
        unreachable: dict[str, str] = {}
        if scope.narrowed and removable:
            histories = _histories(project, others, needed)
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
        doomed = _with_chunks(
            project, set(removable) if remove_unbacked else set(removable) - unbacked
        )
        removed, removed_bytes = _remove(project, doomed, removable, dry_run=dry_run)
        if not dry_run:
            _remove_stale_tmp(project)
            prune_index(project.store)  # table summaries' index: entries of removed summaries
        return GcResult(
            scope=scope.names(),
            kept_objects=len(needed.objects),
            removed_objects=removed,
            removed_bytes=removed_bytes,
            dry_run=dry_run,
            other_worktrees=len(others),
            unbacked_objects=len(unbacked),
            unbacked_bytes=unbacked_bytes,
            unbacked_removed=remove_unbacked and bool(unbacked),
            unreachable_remotes=unreachable,
        )


def _add_scope(needed: _Closure, project: Project, scope: Scope) -> None:
    """This work tree's scope. What it has checked out (work tree, index, HEAD) and what a flag
    names must be readable; the rest of history is kept as far as this store holds it."""
    now = Named()
    head = project.git.head()
    at_commits(project, [head] if head else [], now)
    current(project, now)
    needed.add(now, strict=True)
    commits = scope_commits(project, scope)
    rest = Named()
    at_commits(project, [c for c in commits if c != head], rest)
    needed.add(rest, strict=scope.narrowed)


def _histories(
    project: Project, others: list[_Other], needed: _Closure
) -> list[tuple[Project, set[ObjectId]]]:
    """Per work tree of the store, everything its default scope keeps: what a narrowed scope
    must not drop unless that work tree can fetch it back."""
    histories = []
    for owner, other in [(project, None), *((o.project, o) for o in others)]:
        history = needed.copy()
        named = Named()
        with other.reading() if other is not None else contextlib.nullcontext():
            at_commits(owner, scope_commits(owner, HISTORY), named)
        history.add(named, strict=False)
        history.check()
        histories.append((owner, history.objects))
    return histories


class _Closure:
    """Objects needed, with the files of every tree among them.

    A tree that cannot be read stops gc (the files it lists cannot be known) when ``strict``,
    or when it is in the store but damaged. A tree absent from the store otherwise means that
    nothing of it is here to keep: a revision this clone never fetched, or one another work tree
    made with another store.
    """

    def __init__(self, project: Project, progress: Progress = NULL_PROGRESS) -> None:
        self.store = project.store
        self.progress = progress
        self.objects: set[ObjectId] = set()
        self.reached = Reach()  # every tree expanded, levels included, and their files
        self.unreadable: set[ObjectId] = set()

    def copy(self) -> _Closure:
        other = _Closure.__new__(_Closure)
        other.store = self.store
        other.progress = NULL_PROGRESS
        other.objects, other.reached = set(self.objects), self.reached.copy()
        other.unreadable = set(self.unreadable)
        return other

    def add(self, named: Named, *, strict: bool) -> None:
        self.objects |= named.objects | named.salvaged
        self._expand(named.trees - self.reached.trees, strict=strict)
        # An id a manifest this mlv cannot read names may be a tree: its files stay too.
        salvaged = set()
        for oid in sorted(named.salvaged - self.reached.trees):
            with contextlib.suppress(MlvError, OSError):
                if self.store.head(oid, len(_TREE_START)) == _TREE_START:
                    salvaged.add(oid)
        self._expand(salvaged, strict=False, salvaged=True)

    def _expand(self, roots: set[ObjectId], *, strict: bool, salvaged: bool = False) -> None:
        if not roots:
            return
        before = set(self.reached.unreadable)
        reach(self._read, sorted(roots), done=self.reached)
        for oid in self.reached.unreadable - before:
            if oid in roots and (salvaged or not (strict or self.store.exists(oid))):
                self.reached.trees.discard(oid)  # nothing of it here: may be expanded later
            else:
                self.unreadable.add(oid)
            self.reached.unreadable.discard(oid)
        self.objects |= self.reached.files
        self.objects |= self.reached.trees
        self.reached.files.clear()  # kept in ``objects``: one set of the ids, not two

    def _read(self, oid: ObjectId) -> bytes:
        self.progress.advance()
        return self.store.read_bytes(oid)

    def check(self) -> None:
        if self.unreadable:
            raise CheckFailed(
                f"{len(self.unreadable)} kept tree object(s) are missing or corrupt "
                f"(e.g. {min(self.unreadable)}); gc stopped and removed nothing",
                "fetch them with `mlv fetch`, or check the store with `mlv verify`",
            )


def _sizes(
    project: Project, needed: set[ObjectId], progress: Progress = NULL_PROGRESS
) -> dict[ObjectId, int]:
    """The stored objects nothing needs, with their sizes."""
    if not project.store.root.exists():
        return {}
    found = {}
    progress.start("listing the store", None, unit="objects")
    try:
        for oid in project.store.iter_ids():
            progress.advance()
            if oid not in needed:
                with contextlib.suppress(MlvError):  # a damaged chunk list: its pack stays
                    found[oid] = project.store.size_of(oid)
    finally:
        progress.finish()
    return found


def _with_chunks(project: Project, doomed: set[ObjectId]) -> set[ObjectId]:
    """``doomed`` less the chunks that a chunked file staying in the store is made of."""
    store = project.store
    for digest, entry in store.packs.entries().items():
        oid = ObjectId.xxh128(digest.hex())
        if entry.kind == CHUNKED and oid not in doomed:
            doomed.difference_update(store.chunks_of(oid))
    return doomed


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
