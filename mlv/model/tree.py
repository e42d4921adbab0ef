"""Tree objects: the canonical listing of a tracked directory.

A tree is stored as an object like any file, so its id names the whole directory. The encoding is
canonical (entries sorted by path, fixed field order, compact JSON) so that the same directory
always yields the same bytes and therefore the same id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
import xxhash

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


# --- Format 2: one object per directory (as git does) -------------------------------------------
#
# A format 2 tree lists one directory level: its files by name, and its subdirectories by name
# with the id of their own tree and the number of files and bytes below them, so a parent knows
# its totals without reading its children. An empty directory is a subdirectory whose tree is
# EMPTY_NODE. Both lists are sorted by name and no name appears twice; walking the levels in
# "git order" (a directory sorts as its name followed by "/") yields paths in the same order as
# a format 1 tree lists them. A reader of format 2 needs the subtrees: see mlv.core.objects.trees.

NODE_FORMAT = 2


class _FileRow(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    name: str
    id: str
    size: int
    executable: bool


class _DirRow(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    name: str
    id: str
    files: int
    size: int


class _Node(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: int
    files: list[_FileRow]
    dirs: list[_DirRow]


class _Head(msgspec.Struct, frozen=True):
    format: int


@dataclass(frozen=True, slots=True)
class DirEntry:
    """A subdirectory of a format 2 tree: its tree's id and what lies below it."""

    name: str
    id: ObjectId
    files: int
    size: int


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One directory level of a format 2 tree. ``files`` hold names in ``TreeEntry.path``."""

    files: tuple[TreeEntry, ...]
    dirs: tuple[DirEntry, ...]

    @property
    def file_count(self) -> int:
        return len(self.files) + sum(d.files for d in self.dirs)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files) + sum(d.size for d in self.dirs)

    def ordered(self) -> list[TreeEntry | DirEntry]:
        """Files and subdirectories in git order, so that a depth-first walk yields sorted paths."""
        both: list[TreeEntry | DirEntry] = [*self.files, *self.dirs]
        return sorted(both, key=lambda e: e.path if isinstance(e, TreeEntry) else e.name + "/")


def tree_format(data: bytes) -> int:
    """The format number of tree bytes (1 or 2); ManifestError when they are not a tree."""
    try:
        return msgspec.json.decode(data, type=_Head).format
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise ManifestError("malformed tree object: no format number") from None


def encode_node(
    files: Iterable[tuple[str, str, int, bool]], dirs: Iterable[tuple[str, str, int, int]]
) -> bytes:
    """The canonical bytes of one directory level: ``files`` as (name, id, size, executable),
    ``dirs`` as (name, tree id, files below, bytes below), in any order."""
    file_rows = sorted((name, str(oid), size, bool(x)) for name, oid, size, x in files)
    dir_rows = sorted((name, str(oid), count, size) for name, oid, count, size in dirs)
    return msgspec.json.encode({"format": NODE_FORMAT, "files": file_rows, "dirs": dir_rows})


EMPTY_NODE = encode_node([], [])


def _check_name(name: str) -> None:
    if "/" in name:
        raise ManifestError(f"tree name {name!r} holds a '/'")
    check_relpath(name, what="tree entry")


def decode_node(data: bytes) -> TreeNode:
    """Parse and validate one format 2 level; any defect is a ManifestError, never a crash."""
    try:
        raw = msgspec.json.decode(data, type=_Node)
    except (
        msgspec.ValidationError,
        msgspec.DecodeError,
        UnicodeDecodeError,
        RecursionError,
    ) as exc:
        raise ManifestError(f"malformed tree object: {exc}") from None
    if raw.format != NODE_FORMAT:
        raise ManifestError(f"tree object format {raw.format} is not a directory level")
    try:
        files = []
        previous = ""
        for f in raw.files:
            _check_name(f.name)
            if f.name <= previous:
                raise ManifestError("files are not sorted and unique")
            if not 0 <= f.size <= MAX_SIZE:
                raise ManifestError(f"entry {f.name!r} has an impossible size")
            previous = f.name
            files.append(TreeEntry(f.name, ObjectId.parse(f.id), f.size, f.executable))
        dirs = []
        previous = ""
        for d in raw.dirs:
            _check_name(d.name)
            if d.name <= previous:
                raise ManifestError("directories are not sorted and unique")
            if not 0 <= d.size <= MAX_SIZE or not 0 <= d.files <= MAX_SIZE:
                raise ManifestError(f"directory {d.name!r} has an impossible size")
            previous = d.name
            dirs.append(DirEntry(d.name, ObjectId.parse(d.id), d.files, d.size))
    except MlvError as exc:
        raise ManifestError(f"malformed tree object: {exc.message}") from None
    names = [f.path for f in files] + [d.name for d in dirs]
    if len(set(names)) != len(names):
        clash = next(n for n in names if names.count(n) > 1)
        raise ManifestError(f"tree object lists {clash!r} as both a file and a directory")
    collision = find_collision(names)
    if collision is not None:
        raise ManifestError(
            same_file_message("tree entries", collision),
            "rename one of them, then take a new snapshot (docs/decisions.md: portable paths)",
        )
    return TreeNode(tuple(files), tuple(dirs))


def split_tree(
    entries: Iterable[tuple[str, str, int, bool]], empty_dirs: Iterable[str] = ()
) -> list[bytes]:
    """A flat listing (paths relative to the directory) as format 2 objects: every level's
    bytes, each after the levels below it, the top level last (store them in this order)."""
    root: dict[str, object] = {}

    def level(path: str) -> dict[str, object]:
        node = root
        for name in path.split("/"):
            child = node.setdefault(name + "/", {})
            assert isinstance(child, dict)
            node = child
        return node

    for path, oid, size, executable in entries:
        parent, _, name = path.rpartition("/")
        (level(parent) if parent else root)[name] = (str(oid), size, executable)
    for d in empty_dirs:
        level(d)
    out: list[bytes] = []

    def emit(node: dict[str, object]) -> tuple[str, int, int]:
        files, dirs = [], []
        count = total = 0
        for key, value in node.items():
            if isinstance(value, dict):
                oid, n, size = emit(value)
                dirs.append((key[:-1], oid, n, size))
            else:
                assert isinstance(value, tuple)
                oid, size, executable = value
                files.append((key, oid, size, executable))
                n = 1
            count, total = count + n, total + size
        data = encode_node(files, dirs)
        out.append(data)
        return ObjectId.xxh128(xxhash.xxh3_128_hexdigest(data)), count, total

    emit(root)
    return out
