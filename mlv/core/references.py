"""Which objects revisions need: the closure over manifests and their tree objects.

One rule (``top_level``) for what a manifest names, shared by push, fetch, verify and gc, so that
what gc keeps is what a push sends and a fetch brings: artifacts (and every file of a directory's
tree), stage outputs, environment lockfiles and code patches. gc expands trees itself
(``core/gc.py``), since it must also keep ids salvaged from manifests it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mlv.core.project import Project, lock_size_check
from mlv.errors import MlvError, UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import LOCK_FILE, Lock, decode_lock
from mlv.model.tree import Tree


@dataclass
class Needed:
    objects: set[ObjectId] = field(default_factory=set)  # everything, trees included
    trees: set[ObjectId] = field(default_factory=set)
    unreadable_trees: set[ObjectId] = field(default_factory=set)  # missing or corrupt locally


def top_level(locks: Iterable[Lock]) -> tuple[set[ObjectId], set[ObjectId]]:
    """Objects the manifests name directly, and which of them are trees."""
    objects: set[ObjectId] = set()
    trees: set[ObjectId] = set()
    for lock in locks:
        objects |= lock.object_ids()
        trees |= {a.id for a in lock.artifacts.values() if a.type == "dir"}
    return objects, trees


def closure(
    locks: Iterable[Lock],
    read_tree: Callable[[ObjectId], Tree],
    expanded: frozenset[ObjectId] = frozenset(),
) -> Needed:
    """Every object the manifests need; a tree that cannot be read is listed, not expanded.

    Trees in ``expanded`` were read by the caller already: their files are not listed again.
    """
    needed = Needed()
    needed.objects, needed.trees = top_level(locks)
    for tree_id in sorted(needed.trees - expanded):
        try:
            tree = read_tree(tree_id)
        except MlvError:
            needed.unreadable_trees.add(tree_id)
            continue
        needed.objects.update(e.id for e in tree.entries)
    return needed


def local_tree_reader(project: Project) -> Callable[[ObjectId], Tree]:
    return lambda oid: Tree.decode(project.store.read_bytes(oid))


def locks_at(project: Project, revs: Iterable[str], *, include_worktree: bool) -> list[Lock]:
    """The manifests at ``revs`` (commits without mlv.lock are skipped) and the work tree's."""
    shas = [project.git.resolve(r) for r in revs]
    locks = []
    for sha, data in project.git.read_blobs(shas, LOCK_FILE, check_size=lock_size_check).items():
        if data is not None:
            locks.append(decode_lock(data, source=f"{LOCK_FILE} at {sha[:10]}"))
    if include_worktree:
        current = project.read_lock()
        if current is not None:
            locks.append(current)
    return locks


def default_revs(project: Project) -> list[str]:
    """HEAD, when there is one."""
    return ["HEAD"] if project.git.head() is not None else []


def require_locks(locks: list[Lock], what: str) -> list[Lock]:
    if not locks:
        raise UsageError(
            f"there is no mlv.lock to {what}",
            "run `mlv snapshot` first, or name a revision that has one",
        )
    return locks
