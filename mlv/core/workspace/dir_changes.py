"""How a tracked directory differs from a recorded format 2 tree, reading only what changed.

Both trees are walked level by level from the top; a subdirectory whose level id is the same on
both sides is skipped whole, so one changed file among 10^6 costs the levels on its path. The
current levels come from the scan (made now, or kept by the stat cache), the recorded ones from
the store. A tree without its levels at hand (never fetched, or a format 1 tree) gets no answer
here: ``mlv.core.record.status`` compares it the long way.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlv.core.workspace.scanner import Read, Scan
from mlv.errors import MissingObjects
from mlv.model.ids import ObjectId
from mlv.model.tree import TreeEntry, TreeNode, decode_node, tree_format


@dataclass
class DirChanges:
    """Paths relative to the directory."""

    added: list[str]
    modified: list[str]
    deleted: list[str]
    empty_dirs_differ: bool

    @property
    def none(self) -> bool:
        return not (self.added or self.modified or self.deleted or self.empty_dirs_differ)


class _NoAnswer(Exception):
    pass


def compare(scan: Scan, tree: ObjectId, read: Read) -> DirChanges | None:
    """The differences between ``scan`` (a directory) and format 2 tree ``tree`` (read with
    ``read``); None when a level needed is not at hand or ``tree`` is not format 2."""
    if scan.built.id == tree:
        return DirChanges([], [], [], False)
    result = DirChanges([], [], [], False)
    try:
        old = read(tree)
        if tree_format(old) != 2:
            return None
        _compare(scan, read, "", decode_node(old), _current(scan, read, ""), result)
    except (_NoAnswer, MissingObjects):
        return None
    for names in (result.added, result.modified, result.deleted):
        names.sort()
    # The ids differ: what is not a file is an empty directory added or removed.
    result.empty_dirs_differ = result.none
    return result


def _current(scan: Scan, read: Read, rel: str) -> TreeNode:
    data = scan.level(rel, read)
    if data is None:
        raise _NoAnswer
    return decode_node(data)


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _below(read: Read, node: TreeNode, rel: str) -> list[str]:
    """Every file path below a recorded level."""
    out = [_join(rel, f.path) for f in node.files]
    for d in node.dirs:
        out.extend(_below(read, decode_node(read(d.id)), _join(rel, d.name)))
    return out


def _compare(
    scan: Scan, read: Read, rel: str, old: TreeNode, new: TreeNode, result: DirChanges
) -> None:
    before = {f.path: f for f in old.files}
    for f in new.files:
        was = before.pop(f.path, None)
        if was is None:
            result.added.append(_join(rel, f.path))
        elif was.id != f.id or was.executable != f.executable:
            result.modified.append(_join(rel, f.path))
    result.deleted.extend(_join(rel, name) for name in before)
    old_dirs = {d.name: d for d in old.dirs}
    for d in new.dirs:
        path = _join(rel, d.name)
        was_dir = old_dirs.pop(d.name, None)
        if was_dir is None:
            result.added.extend(p for _, p in _paths(scan.iter_levels(read, path)))
        elif was_dir.id != d.id:
            old_node = decode_node(read(was_dir.id))
            _compare(scan, read, path, old_node, _current(scan, read, path), result)
    for name, gone in old_dirs.items():
        path = _join(rel, name)
        result.deleted.extend(_below(read, decode_node(read(gone.id)), path))


def _paths(found: list[tuple[str, TreeEntry]]) -> list[tuple[str, str]]:
    return [(d, _join(d, f.path)) for d, f in found]
