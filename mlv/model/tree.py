"""Tree objects: the canonical listing of a tracked directory.

A tree is stored as an object like any file, so its id names the whole directory. The encoding is
canonical (entries sorted by path, fixed field order, compact JSON) so that the same directory
always yields the same bytes and therefore the same id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from mlv.errors import ManifestError, MlvError
from mlv.model.ids import ObjectId
from mlv.model.paths import check_relpath, find_collision, find_nested, same_file_message

TREE_FORMAT = 1
# No file is larger than a signed 64-bit size; a bigger number is not a size.
MAX_SIZE = 2**63 - 1


class _Entry(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    path: str
    id: str
    size: int
    executable: bool


class _Tree(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: int
    entries: list[_Entry]
    empty_dirs: list[str] = []


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file of a tracked directory, relative to the directory."""

    path: str
    id: ObjectId
    size: int
    executable: bool


@dataclass(frozen=True, slots=True)
class Tree:
    """A directory: its files and the directories that hold no file (kept so they round-trip)."""

    entries: tuple[TreeEntry, ...]
    empty_dirs: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def by_path(self) -> dict[str, TreeEntry]:
        return {e.path: e for e in self.entries}

    def encode(self) -> bytes:
        return encode_tree(
            [(e.path, e.id, e.size, e.executable) for e in self.entries], self.empty_dirs
        )

    @classmethod
    def decode(cls, data: bytes) -> Tree:
        """Parse and validate tree bytes; any defect is a ManifestError, never a crash.

        The bytes come from ``ObjectStore.read_bytes``, which refuses an object too large to be
        a tree before reading it (``MAX_IN_MEMORY``).
        """
        try:
            raw = msgspec.json.decode(data, type=_Tree)
        except (
            msgspec.ValidationError,
            msgspec.DecodeError,
            UnicodeDecodeError,  # invalid UTF-8 inside a string
            RecursionError,  # nesting thousands deep
        ) as exc:
            raise ManifestError(f"malformed tree object: {exc}") from None
        if raw.format != TREE_FORMAT:
            raise ManifestError(
                f"tree object format {raw.format} is not supported (this mlv reads {TREE_FORMAT})",
                "upgrade mlv",
            )
        entries: list[TreeEntry] = []
        previous = ""
        try:
            for item in raw.entries:
                check_relpath(item.path, what="tree entry")
                if item.path <= previous:
                    raise ManifestError("entries are not sorted and unique")
                if not 0 <= item.size <= MAX_SIZE:
                    raise ManifestError(f"entry {item.path!r} has an impossible size")
                previous = item.path
                entries.append(
                    TreeEntry(item.path, ObjectId.parse(item.id), item.size, item.executable)
                )
            for d in raw.empty_dirs:
                check_relpath(d, what="tree directory")
        except MlvError as exc:  # a bad path or id, or one of the above
            raise ManifestError(f"malformed tree object: {exc.message}") from None
        paths = [e.path for e in entries]
        nested = find_nested(paths)
        if nested is not None:
            raise ManifestError(f"tree object lists {nested[0]!r} as both a file and a directory")
        if raw.empty_dirs:
            files = set(paths)
            clash = next(((d, d) for d in raw.empty_dirs if d in files), None)
            clash = clash or find_nested(paths + raw.empty_dirs)
            if clash is not None:
                raise ManifestError(
                    f"tree object lists {clash[1]!r} inside {clash[0]!r}, a file or empty directory"
                    if clash[0] != clash[1]
                    else f"tree object lists {clash[0]!r} as both a file and an empty directory"
                )
        collision = find_collision(paths + raw.empty_dirs)
        if collision is not None:
            raise ManifestError(
                same_file_message("tree entries", collision),
                "rename one of them, then take a new snapshot (docs/decisions.md: portable paths)",
            )
        return cls(tuple(entries), tuple(raw.empty_dirs))


def encode_tree(entries: list[tuple[str, str, int, bool]], empty_dirs: Iterable[str]) -> bytes:
    """The canonical bytes of a tree: ``entries`` as (path, id, size, executable), any order.

    Produces exactly what encoding a ``_Tree`` struct would, without building 10^5 objects.
    """
    rows = sorted((path, str(oid), size, executable) for path, oid, size, executable in entries)
    return msgspec.json.encode(
        {"format": TREE_FORMAT, "entries": rows, "empty_dirs": sorted(set(empty_dirs))}
    )
