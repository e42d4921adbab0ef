"""Reading directory trees, format 1 (one flat object) and format 2 (one object per level).

The one place that walks levels (docs/format.md, "Trees"). Every walk is iterative, so a tree
nested thousands deep cannot exhaust the stack, and holds one level per depth, never the whole
listing. A level must hold exactly the files and bytes its parent says it does: anything else is
a malformed tree (ManifestError), as is a level below the top that is not format 2. A subtree
may be shared by several parents (every empty directory shares ``EMPTY_NODE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from mlv.errors import ManifestError, MlvError
from mlv.model.ids import ObjectId
from mlv.model.paths import is_within
from mlv.model.tree import DirEntry, Tree, TreeEntry, TreeNode, decode_node, tree_format

Read = Callable[[ObjectId], bytes]


def _level(read: Read, claim: DirEntry, path: str) -> TreeNode:
    """The level ``claim`` names, checked against what its parent says it holds."""
    node = decode_node(read(claim.id))
    if node.file_count != claim.files or node.size != claim.size:
        raise ManifestError(
            f"malformed tree object {claim.id}: directory {path!r} holds {node.file_count}"
            f" file(s) of {node.size} bytes, its parent says {claim.files} of {claim.size}"
        )
    return node


def walk(read: Read, oid: ObjectId, under: str = "") -> Iterator[TreeEntry | str]:
    """Files (paths relative to the artifact) and empty directories (their paths), under the
    relative path ``under`` when given; format 2 levels outside it are not read."""
    data = read(oid)
    if tree_format(data) == 1:
        tree = Tree.decode(data)
        for entry in tree.entries:
            if not under or is_within(entry.path, under):
                yield entry
        yield from (d for d in tree.empty_dirs if not under or is_within(d, under))
        return
    node = decode_node(data)
    base = ""
    for name in under.split("/") if under else ():
        item = next((e for e in node.ordered() if _name(e) == name), None)
        if isinstance(item, TreeEntry):
            if base + name == under:
                yield TreeEntry(under, item.id, item.size, item.executable)
            return
        if item is None:
            return
        node = _level(read, item, base + name)
        base += name + "/"
    if under and not node.files and not node.dirs:
        yield under
        return
    stack: list[tuple[Iterator[TreeEntry | DirEntry], str]] = [(iter(node.ordered()), base)]
    while stack:
        items, prefix = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
        elif isinstance(item, TreeEntry):
            yield TreeEntry(prefix + item.path, item.id, item.size, item.executable)
        else:
            path = prefix + item.name
            child = _level(read, item, path)
            if child.files or child.dirs:
                stack.append((iter(child.ordered()), path + "/"))
            else:
                yield path


def _name(entry: TreeEntry | DirEntry) -> str:
    return entry.path if isinstance(entry, TreeEntry) else entry.name


def load_tree(read: Read, oid: ObjectId) -> Tree:
    """The flat listing of a tree of either format (for small consumers: it holds every entry)."""
    files: list[TreeEntry] = []
    empty: list[str] = []
    for item in walk(read, oid):
        if isinstance(item, TreeEntry):
            files.append(item)
        else:
            empty.append(item)
    return Tree(tuple(files), tuple(sorted(empty)))


def iter_files(read: Read, oid: ObjectId) -> Iterator[TreeEntry]:
    """Every file of the tree, paths relative to the artifact, in sorted order."""
    return (item for item in walk(read, oid) if isinstance(item, TreeEntry))


def tree_ids(read: Read, oid: ObjectId) -> Iterator[ObjectId]:
    """Every tree object of the artifact, the top one first, each once."""
    yield oid
    data = read(oid)
    if tree_format(data) == 1:
        Tree.decode(data)
        return
    seen = {oid}
    stack: list[tuple[TreeNode, str]] = [(decode_node(data), "")]
    while stack:
        node, prefix = stack.pop()
        for d in node.dirs:
            if d.id not in seen:
                seen.add(d.id)
                yield d.id
                stack.append((_level(read, d, prefix + d.name), prefix + d.name + "/"))


def find(read: Read, oid: ObjectId, relpath: str) -> TreeEntry | DirEntry | None:
    """The file (path relative to the artifact) or, in a format 2 tree, the directory at
    ``relpath``; None when the tree holds nothing there (or, in format 1, only a directory)."""
    data = read(oid)
    if tree_format(data) == 1:
        return next((e for e in Tree.decode(data).entries if e.path == relpath), None)
    node = decode_node(data)
    names = relpath.split("/")
    for depth, name in enumerate(names):
        item = next((e for e in node.ordered() if _name(e) == name), None)
        if item is None or depth == len(names) - 1:
            if isinstance(item, TreeEntry):
                return TreeEntry(relpath, item.id, item.size, item.executable)
            return item
        if isinstance(item, TreeEntry):
            return None
        node = _level(read, item, "/".join(names[: depth + 1]))
    return None


@dataclass
class Reach:
    """What a set of trees needs: their files, every tree object (levels included), and the
    trees that could not be read (missing or malformed) and so were not expanded."""

    files: set[ObjectId] = field(default_factory=set)
    trees: set[ObjectId] = field(default_factory=set)
    unreadable: set[ObjectId] = field(default_factory=set)
    below: dict[ObjectId, set[ObjectId]] = field(default_factory=dict)  # a level's sub-levels

    def copy(self) -> Reach:
        return Reach(set(self.files), set(self.trees), set(self.unreadable), dict(self.below))

    def by_height(self, among: set[ObjectId]) -> list[list[ObjectId]]:
        """``among`` (trees of this reach) in batches, every level in a batch after the levels
        below it: the order to store them in so that a level present means its subtree is."""
        height: dict[ObjectId, int] = {}
        for top in sorted(self.trees):
            stack = [top]
            while stack:  # iterative post-order: a level's height once its children have theirs
                oid = stack[-1]
                if oid in height:
                    stack.pop()
                    continue
                todo = [c for c in self.below.get(oid, ()) if c not in height]
                if todo:
                    stack.extend(todo)
                    continue
                stack.pop()
                height[oid] = 1 + max((height[c] for c in self.below.get(oid, ())), default=-1)
        batches: dict[int, list[ObjectId]] = {}
        for oid in among:
            batches.setdefault(height.get(oid, 0), []).append(oid)
        return [sorted(batches[h]) for h in sorted(batches)]


def reach(
    read: Read,
    roots: Iterable[ObjectId],
    *,
    fetch: Callable[[set[ObjectId]], None] | None = None,
    done: Reach | None = None,
) -> Reach:
    """Expand ``roots`` level by level, breadth first: all the levels of one depth are known
    before any of the next is read, so ``fetch`` (when given) is called once per depth with the
    tree ids about to be read, to bring those the store lacks in one batch. Trees already in
    ``done.trees`` are not read again (their files are in ``done``)."""
    out = done if done is not None else Reach()
    before = set(out.trees)
    claims: dict[ObjectId, tuple[int, int] | None] = {r: None for r in roots if r not in before}
    # Totals of the levels read here; a format 1 tree or an unreadable level matches no claim.
    known: dict[ObjectId, tuple[int, int]] = {}
    depth = 0
    while claims:
        unread = {oid for oid in claims if oid not in known}
        if fetch is not None and unread:
            fetch(unread)
        nxt: dict[ObjectId, tuple[int, int] | None] = {}
        conflicting: set[ObjectId] = set()
        for oid in sorted(claims):
            claim = claims[oid]
            if oid in known:  # a shared subtree met again deeper down
                if claim is not None and known[oid] != claim:
                    out.unreadable.add(oid)
                continue
            out.trees.add(oid)
            known[oid] = (-1, -1)
            try:
                data = read(oid)
                if depth == 0 and tree_format(data) == 1:
                    out.files.update(e.id for e in Tree.decode(data).entries)
                    continue
                node = decode_node(data)
                if claim is not None and claim != (node.file_count, node.size):
                    raise ManifestError(f"tree level {oid} does not hold what its parent says")
            except MlvError:
                out.unreadable.add(oid)
                continue
            known[oid] = (node.file_count, node.size)
            out.files.update(f.id for f in node.files)
            if node.dirs:
                out.below[oid] = {d.id for d in node.dirs}
            for d in node.dirs:
                if d.id in before:
                    continue
                totals = (d.files, d.size)
                if nxt.setdefault(d.id, totals) != totals:
                    conflicting.add(d.id)
        for oid in conflicting:  # two parents disagree about it: one of them lies
            out.trees.add(oid)
            out.unreadable.add(oid)
            known[oid] = (-1, -1)
            del nxt[oid]
        claims = nxt
        depth += 1
    return out
