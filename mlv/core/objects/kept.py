"""What gc keeps: the manifests a scope names, every manifest any git revision can reach, and
the one live set both gcs compute from them (``live_set``).

Git never deletes what a ref, a reflog entry, a stash or the index still reaches, and neither
does gc by default: its default scope is every mlv.lock that ``git rev-list --all --reflog``
finds (branches, tags, remote-tracking refs, the stash, every reflog entry, the HEAD of every
git worktree), plus the staged and the work tree's mlv.lock. ``--full-history`` matters: without
it git skips the side of a merge that left mlv.lock as the other side had it, and a merged, then
deleted, branch's versions would look unreachable.

``live_set`` is what local gc and ``gc --remote`` both keep: the named objects, the files of
every tree among them, and the chunks of every live chunked file. What differs between them is
a parameter: where trees are read (``Trees``), where chunk lists are read (``ChunkLists``),
which roots must be readable (``strict``), and the message that refuses unreadable trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mlv.core.objects.closure import top_level
from mlv.core.objects.trees import Reach, reach
from mlv.core.project import Project, lock_size_check
from mlv.errors import ManifestError, MlvError
from mlv.model.ids import ALGORITHMS, ObjectId
from mlv.model.manifest import LOCK_FILE, Lock, check_lock_size, decode_lock
from mlv.storage.hashing import hash_bytes

# Manifests read from git per cat-file process: bounds the memory history of any length takes.
BATCH = 256
# An id as any manifest writes it, whatever its schema: what a manifest this mlv cannot read
# still names (objects of an algorithm this mlv does not know are never deleted anyway).
_ID = re.compile(rb"\b(" + b"|".join(a.encode() for a in sorted(ALGORITHMS)) + rb"):([0-9a-f]+)")


@dataclass(frozen=True)
class Scope:
    """What gc keeps. No flag set: everything any revision reaches (the default). Any flag set:
    exactly what the flags name, plus the work tree, the index and HEAD."""

    workspace: bool = False
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False

    @property
    def narrowed(self) -> bool:
        return self.workspace or self.all_branches or self.all_tags or self.all_commits

    def names(self) -> list[str]:
        flags = {
            "workspace": self.workspace,
            "all-branches": self.all_branches,
            "all-tags": self.all_tags,
            "all-commits": self.all_commits,
        }
        return [name for name, on in flags.items() if on] or ["history"]


HISTORY = Scope()


@dataclass
class Named:
    """Objects some manifests name, the directory trees among them, and ids found in manifests
    this mlv cannot read (kept, and their files too if they are trees)."""

    objects: set[ObjectId] = field(default_factory=set)
    trees: set[ObjectId] = field(default_factory=set)
    salvaged: set[ObjectId] = field(default_factory=set)
    _seen: set[str] = field(default_factory=set)  # digests of manifests already read

    def add(self, data: bytes, source: str) -> None:
        digest = str(hash_bytes(data))
        if digest in self._seen:
            return
        self._seen.add(digest)
        try:
            lock = decode_lock(data, source=source)
        except ManifestError:
            # A revision whose mlv.lock mlv cannot read (committed mid-conflict, hand-edited,
            # or written by a newer mlv): keep whatever it names rather than stop gc forever.
            for algorithm, digest_hex in _ID.findall(data):
                try:
                    self.salvaged.add(ObjectId(algorithm.decode(), digest_hex.decode()))
                except ManifestError:
                    continue
            return
        self.take(lock)

    def take(self, lock: Lock) -> None:
        """What a readable manifest names: the same rule push, fetch and verify use."""
        objects, trees = top_level([lock])
        self.objects |= objects
        self.trees |= trees


def current(project: Project, named: Named) -> None:
    """The work tree's mlv.lock (it must be readable) and the staged one."""
    lock = project.read_lock()
    if lock is not None:
        named.take(lock)
    size = project.git.run(["cat-file", "-s", f":{LOCK_FILE}"], check=False)
    if size.returncode == 0:
        check_lock_size(int(size.stdout), f"the staged {LOCK_FILE}")
        staged = project.git.run(["cat-file", "blob", f":{LOCK_FILE}"]).stdout
        named.add(staged, f"the staged {LOCK_FILE}")


def scope_commits(project: Project, scope: Scope) -> list[str]:
    """The commits whose mlv.lock ``scope`` keeps (HEAD always): full ids, no duplicates."""
    git = project.git
    if not scope.narrowed:
        # --all and --reflog cover every git worktree's HEAD and reflogs too.
        found = git.text("rev-list", "--all", "--reflog", "--full-history", "--", LOCK_FILE)
        head = git.head()
        return list(dict.fromkeys(([head] if head else []) + found.split()))
    commits = [git.head()] if git.head() is not None else []
    if scope.all_commits:
        commits += git.text("rev-list", "--all", "--full-history", "--", LOCK_FILE).split()
    # --no-walk lists the tips themselves, and skips refs to anything but a commit.
    if scope.all_branches:
        commits += git.text("rev-list", "--no-walk", "--branches").split()
    if scope.all_tags:
        commits += git.text("rev-list", "--no-walk", "--tags").split()
    return list(dict.fromkeys(c for c in commits if c))


def at_commits(project: Project, commits: Iterable[str], named: Named) -> None:
    """Add what the mlv.lock of each commit names (commits without one are skipped)."""
    wanted = list(commits)
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        blobs = project.git.read_blobs(batch, LOCK_FILE, check_size=lock_size_check)
        for sha, data in blobs.items():
            if data is not None:
                named.add(data, f"{LOCK_FILE} at {sha[:10]}")


class Trees(Protocol):
    """Where gc reads the trees it expands, and what it may pass over."""

    def read(self, oid: ObjectId) -> bytes:
        """The tree's bytes, verified; an MlvError when they cannot be had."""
        ...

    def absent(self, oid: ObjectId) -> bool:
        """Nothing of it is there to keep (a top tree that cannot be read is then passed over
        unless the scope is strict)."""
        ...

    def may_be_tree(self, oid: ObjectId) -> bool:
        """Whether an id salvaged from a manifest this mlv cannot read is worth reading as one."""
        ...


# The chunks of the chunked files among some objects (each gc reads chunk lists where it looks).
ChunkLists = Callable[[set[ObjectId]], set[ObjectId]]


class Closure:
    """Objects needed, with the files of every tree among them.

    A tree that cannot be read stops gc (the files it lists cannot be known) when ``strict``,
    or when it is there but damaged. A top tree absent otherwise means that nothing of it is
    there to keep: a revision this clone never fetched, or one another work tree made with
    another store. A salvaged id that cannot be read as a tree may be none.
    """

    def __init__(self, trees: Trees) -> None:
        self.trees = trees
        self.objects: set[ObjectId] = set()
        self.reached = Reach()  # every tree expanded, levels included, and their files
        self.unreadable: set[ObjectId] = set()

    def copy(self, trees: Trees | None = None) -> Closure:
        """An independent closure to add more to (reading through ``trees`` when given)."""
        other = Closure(trees if trees is not None else self.trees)
        other.objects, other.reached = set(self.objects), self.reached.copy()
        other.unreadable = set(self.unreadable)
        return other

    def add(self, named: Named, *, strict: bool) -> None:
        self.objects |= named.objects | named.salvaged
        self._expand(named.trees - self.reached.trees, strict=strict)
        # An id a manifest this mlv cannot read names may be a tree: its files stay too.
        salvaged = set()
        for oid in sorted(named.salvaged - self.reached.trees):
            if self.trees.may_be_tree(oid):
                salvaged.add(oid)
        self._expand(salvaged, strict=False, salvaged=True)

    def _expand(self, roots: set[ObjectId], *, strict: bool, salvaged: bool = False) -> None:
        if not roots:
            return
        before = set(self.reached.unreadable)
        reach(self.trees.read, sorted(roots), done=self.reached)
        for oid in self.reached.unreadable - before:
            if oid in roots and (salvaged or (not strict and self.trees.absent(oid))):
                self.reached.trees.discard(oid)  # nothing of it here: may be expanded later
            else:
                self.unreadable.add(oid)
            self.reached.unreadable.discard(oid)
        self.objects |= self.reached.files
        self.objects |= self.reached.trees
        self.reached.files.clear()  # kept in ``objects``: one set of the ids, not two


@dataclass
class Live:
    """What a gc keeps: the closure of the named roots, and the chunks of its chunked files."""

    closure: Closure
    chunks: set[ObjectId]

    @property
    def objects(self) -> set[ObjectId]:
        """What the kept revisions name, with the files of their trees (chunks not counted)."""
        return self.closure.objects

    def everything(self) -> set[ObjectId]:
        return self.closure.objects | self.chunks


def live_set(
    roots: Iterable[tuple[Named, bool]],
    trees: Trees,
    chunk_lists: ChunkLists,
    refuse: Callable[[set[ObjectId]], MlvError],
) -> Live:
    """The one live set of both gcs: each ``(named, strict)`` root expanded through ``trees``,
    in order, then the chunks of every live chunked file. Trees that cannot be read (and may
    not be passed over) raise ``refuse(them)`` before any chunk list is read."""
    closure = Closure(trees)
    for named, strict in roots:
        closure.add(named, strict=strict)
    if closure.unreadable:
        raise refuse(closure.unreadable)
    return Live(closure, chunk_lists(closure.objects))
