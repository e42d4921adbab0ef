"""How a tracked directory differs from a recorded tree, reading only what changed.

When a tree is made from a scan, the stat cache remembers, per directory inside it, that
directory's entries and the fingerprint of its files' stat identities (``Scan._record_dirs``).
Comparing with that tree later needs the files of the directories whose fingerprint moved, and
nothing else: one changed file among 10^5 costs its directory, not a decode of the whole tree
and an id for every file. A tree without such a record (fetched, or made before) is compared the
long way (``mlv.core.status``).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from mlv.core.workspace import EMPTY_DIRS, Scan
from mlv.model.ids import ObjectId


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


def compare(scan: Scan, tree: ObjectId) -> DirChanges | None:
    """The differences between ``scan`` (a directory) and ``tree``; None without a record of
    ``tree``'s directories for this path."""
    state = scan.scanner.state
    stored = state.dir_prints(scan.path, tree)
    if not stored:
        return None
    now = scan.dir_prints()
    changed = sorted(d for d in set(now) | set(stored) if now.get(d) != stored.get(d))
    if not changed:
        return DirChanges([], [], [], False)
    recorded = state.dir_entries(scan.path, tree, (d for d in changed if d in stored))
    if any(d in stored and d not in recorded for d in changed):
        return None  # forgotten meanwhile (another process recorded two newer trees)
    groups = scan.groups()
    subset = [item for d in changed if d != EMPTY_DIRS for item in groups.get(d, [])]
    cut = len(scan.path) + 1
    current = {f.relpath[cut:]: f for f in scan.scanner.identify(scan.path, subset)}
    before: dict[str, tuple[str, bool]] = {}
    for d in changed:
        if d != EMPTY_DIRS and d in recorded:
            for name, oid, _size, executable in msgspec.json.decode(recorded[d]):
                before[name] = (oid, executable)
    result = DirChanges(
        added=sorted(n for n in current if n not in before),
        modified=sorted(
            n
            for n, f in current.items()
            if n in before and (str(f.id), f.executable) != before[n]
        ),
        deleted=sorted(n for n in before if n not in current),
        empty_dirs_differ=EMPTY_DIRS in changed
        and sorted(scan.empty_dirs) != msgspec.json.decode(recorded.get(EMPTY_DIRS, b"[]")),
    )
    if result.added or result.empty_dirs_differ:
        scan.check_names()  # a name no tree may hold is an error, as it is for a snapshot
    _remember_equal(scan, tree, changed, result)
    return result


def _remember_equal(scan: Scan, tree: ObjectId, changed: list[str], result: DirChanges) -> None:
    """Directories found equal to the tree's (touched, not changed) are remembered under their
    new fingerprints; the whole directory too when nothing differs."""
    state = scan.scanner.state
    differing = {n.rpartition("/")[0] for n in (*result.added, *result.modified, *result.deleted)}
    now, groups = scan.dir_prints(), scan.groups()
    for d in changed:
        if d in differing or d not in now or d == EMPTY_DIRS or not scan.trusted(groups[d]):
            continue
        state.update_dir_print(scan.path, tree, d, now[d])
    if not result.empty_dirs_differ and EMPTY_DIRS in changed and EMPTY_DIRS in now:
        state.update_dir_print(scan.path, tree, EMPTY_DIRS, now[EMPTY_DIRS])
    if result.none and scan.trusted(scan.found):
        state.record_tree(scan.path, scan.fingerprint(), tree)
