"""Format 2 trees: one object per directory level, canonical, validated on decode."""

import msgspec
import pytest

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId
from mlv.model.tree import (
    EMPTY_NODE,
    TreeEntry,
    decode_node,
    encode_node,
    split_tree,
    tree_format,
)

A = ObjectId.xxh128("a" * 32)


def test_split_tree_lists_each_level_after_its_children_in_git_order() -> None:
    objects = split_tree(
        [("z", A, 4, False), ("a/d/e", A, 3, False), ("a-c", A, 1, False), ("a/b", A, 2, True)],
        ["q", "a/empty"],
    )
    top = decode_node(objects[-1])
    assert top.file_count == 4 and top.size == 10
    names = [e.path if isinstance(e, TreeEntry) else e.name for e in top.ordered()]
    assert names == ["a-c", "a", "q", "z"]  # "a/..." sorts after "a-c", as flat paths do
    assert EMPTY_NODE in objects
    assert tree_format(objects[-1]) == 2
    # The same directory in another input order is the same bytes.
    again = split_tree(
        [("a/b", A, 2, True), ("a-c", A, 1, False), ("z", A, 4, False), ("a/d/e", A, 3, False)],
        ["a/empty", "q"],
    )
    assert again[-1] == objects[-1]


def _node(files: list[list[object]], dirs: list[list[object]]) -> bytes:
    return msgspec.json.encode({"format": 2, "files": files, "dirs": dirs})


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        _node([["a/b", str(A), 1, False]], []),  # a path, not a name
        _node([[".git", str(A), 1, False]], []),
        _node([[".", str(A), 1, False]], []),
        _node([["b", str(A), 1, False], ["a", str(A), 1, False]], []),  # unsorted
        _node([["a", str(A), 1, False]], [["a", str(A), 1, 1]]),  # file and directory
        _node([["A", str(A), 1, False]], [["a", str(A), 1, 1]]),  # one name when case-folded
        _node([], [["d", str(A), -1, 1]]),
        _node([["a", "xxh128:short", 1, False]], []),
        msgspec.json.encode({"format": 1, "entries": [], "empty_dirs": []}),
    ],
)
def test_a_malformed_level_is_refused(data: bytes) -> None:
    with pytest.raises(ManifestError):
        decode_node(data)


def test_encode_node_is_canonical() -> None:
    one = encode_node([("b", A, 1, False), ("a", A, 2, True)], [("d", A, 3, 3)])
    two = encode_node([("a", A, 2, True), ("b", A, 1, False)], [("d", A, 3, 3)])
    assert one == two
    node = decode_node(one)
    assert [f.path for f in node.files] == ["a", "b"] and node.dirs[0].files == 3
