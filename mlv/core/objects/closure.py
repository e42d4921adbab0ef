"""Which objects revisions need: the closure over manifests and their tree objects.

One rule (``top_level``) for what a manifest names, shared by push, fetch, verify and gc, so that
what gc keeps is what a push sends and a fetch brings: artifacts (and every file of a directory's
tree), stage outputs, environment lockfiles and code patches. gc expands trees itself
(``core/store/gc.py``), since it must also keep ids salvaged from manifests it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mlv.core.objects.trees import Reach, Read, reach
from mlv.core.project import Project, lock_size_check
from mlv.errors import UsageError
from mlv.model.ids import ObjectId
from mlv.model.manifest import LOCK_FILE, Lock, decode_lock


@dataclass
class Needed:
    objects: set[ObjectId] = field(default_factory=set)  # everything, trees included
    trees: set[ObjectId] = field(default_factory=set)  # every tree object, levels included
    unreadable_trees: set[ObjectId] = field(default_factory=set)  # missing or corrupt locally
    reached: Reach = field(default_factory=Reach)


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
    read: Read,
    *,
    fetch: Callable[[set[ObjectId]], None] | None = None,
) -> Needed:
    """Every object the manifests need; a tree that cannot be read is listed, not expanded.

    Format 2 trees are read level by level; ``fetch`` (when given) is called once per depth
    with the levels about to be read, to bring the missing ones in one batch.
    """
    needed = Needed()
    needed.objects, top_trees = top_level(locks)
    needed.reached = reach(read, sorted(top_trees), fetch=fetch)
    needed.trees = needed.reached.trees | top_trees
    needed.objects |= needed.reached.files
    needed.objects |= needed.reached.trees
    needed.reached.files.clear()  # they are in ``objects``: one set of 10^6 ids, not two
    needed.unreadable_trees = needed.reached.unreadable
    return needed


def local_tree_reader(project: Project) -> Read:
    return project.store.read_bytes


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
