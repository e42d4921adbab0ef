"""``mlv gc``: delete store objects that no kept revision references.

Kept: the work tree's mlv.lock and HEAD, plus every branch / tag / commit when asked, and the
same for every other work tree that shares the store. What a revision references is the same
closure push and fetch use (artifacts, every file of a tree, stage outputs, lockfiles, code
patches). If a kept tree object cannot be read, gc stops rather than delete files that tree
may list.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from mlv import faults
from mlv.core.project import Project, open_project
from mlv.core.references import closure, local_tree_reader, locks_at
from mlv.core.sharing import sharers, store_alone
from mlv.errors import CheckFailed, MlvError
from mlv.model.declarations import DECLARATIONS_FILE
from mlv.model.manifest import LOCK_FILE, Lock
from mlv.storage.fsutil import TEMP_SUFFIX
from mlv.storage.lock import exclusive

# Temporary files older than this in the store's tmp/ are leftovers of interrupted commands.
STALE_TMP_SECONDS = 24 * 3600


@dataclass
class GcResult:
    kept_revisions: int
    kept_objects: int
    removed_objects: int
    removed_bytes: int
    dry_run: bool
    other_worktrees: int = 0  # other work trees sharing the store, whose objects were kept


def kept_revisions(
    project: Project, *, all_branches: bool, all_tags: bool, all_commits: bool
) -> list[str]:
    revs = ["HEAD"] if project.git.head() is not None else []
    if all_commits:
        out = project.git.text("rev-list", "--all", "--", LOCK_FILE)
        return revs + out.split()
    refs = []
    if all_branches:
        refs.append("refs/heads")
    if all_tags:
        refs.append("refs/tags")
    if refs:
        out = project.git.text("for-each-ref", "--format=%(objectname)", *refs)
        revs += out.split()
    return revs


def gc(
    project: Project,
    *,
    dry_run: bool = False,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
) -> GcResult:
    flags = {"all_branches": all_branches, "all_tags": all_tags, "all_commits": all_commits}
    with exclusive(project.process_lock), store_alone(project):
        revs = kept_revisions(project, **flags)
        locks = locks_at(project, revs, include_worktree=True)
        others = _sharers_locks(project, flags, dry_run)
        needed = closure(locks, local_tree_reader(project))
        # Trees this work tree needs too were read just now: not again (they can be large).
        done = frozenset(needed.trees - needed.unreadable_trees)
        theirs = closure(others.locks, local_tree_reader(project), done)
        # A tree another work tree names that this store never held was made with another
        # store (that work tree moved, or was copied with its users/ list): nothing of it is
        # here to keep. A tree of ours missing, or any tree present but damaged, stops gc.
        unreadable = needed.unreadable_trees | {
            t for t in theirs.unreadable_trees if project.store.exists(t)
        }
        if unreadable:
            raise CheckFailed(
                f"{len(unreadable)} kept tree object(s) are missing or corrupt "
                f"(e.g. {min(unreadable)}); gc stopped and removed nothing",
                "fetch them with `mlv fetch`, or check the store with `mlv verify`",
            )
        needed.objects |= theirs.objects
        removed = 0
        freed = 0
        if project.store.root.exists():
            for oid in list(project.store.iter_ids()):
                if oid in needed.objects:
                    continue
                path = project.store.path_of(oid)
                removed += 1
                freed += path.stat().st_size
                if not dry_run:
                    faults.step(str(path))
                    path.unlink()
            if not dry_run:
                _remove_stale_tmp(project)
        return GcResult(
            len(set(revs)) + 1, len(needed.objects), removed, freed, dry_run, others.worktrees
        )


@dataclass
class _SharersLocks:
    locks: list[Lock]
    worktrees: int


def _sharers_locks(project: Project, flags: dict[str, bool], dry_run: bool) -> _SharersLocks:
    """What the other work trees using this store keep, by the same rules as this one.

    A registered work tree that is gone is forgotten. One that exists is kept even if it may
    have moved to another store since (its own settings or environment decide that, and gc
    cannot see the environment it runs in); one that cannot be read stops gc, because deleting
    its objects would be a guess.
    """
    found = _SharersLocks([], 0)
    for sharer in sharers(project):
        other: Project | None = None
        try:
            if not (sharer.root / DECLARATIONS_FILE).is_file():
                if not dry_run:
                    sharer.entry.unlink(missing_ok=True)
                continue
            other = open_project(sharer.root)
            found.locks += locks_at(other, kept_revisions(other, **flags), include_worktree=True)
            found.worktrees += 1
        except (MlvError, OSError) as exc:
            why = exc.message if isinstance(exc, MlvError) else str(exc)
            raise CheckFailed(
                f"gc stopped and removed nothing: the work tree {sharer.root}, which shares"
                f" this store, cannot be read ({why})",
                f"fix it, or remove {sharer.entry} if it no longer uses this store",
            ) from None
        finally:
            if other is not None:
                other.close()
    return found


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
