import msgspec
import pytest

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId
from mlv.model.tree import Tree, encode_tree

A = ObjectId.xxh128("a" * 32)
B = ObjectId.xxh128("b" * 32)


def test_canonical_whatever_the_input_order() -> None:
    one = encode_tree([("b/x", A, 1, False), ("a", B, 2, True)], ["z", "e"])
    two = encode_tree([("a", B, 2, True), ("b/x", A, 1, False)], ["e", "z", "e"])
    assert one == two
    tree = Tree.decode(one)
    assert [e.path for e in tree.entries] == ["a", "b/x"] and tree.empty_dirs == ("e", "z")
    assert tree.encode() == one
    assert tree.size == 3


def _raw(entries: list[list[object]], fmt: int = 1, dirs: list[str] | None = None) -> bytes:
    return msgspec.json.encode({"format": fmt, "entries": entries, "empty_dirs": dirs or []})


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"{}",
        _raw([], fmt=2),
        _raw([["../escape", str(A), 1, False]]),
        _raw([["/abs", str(A), 1, False]]),
        _raw([["b", str(A), 1, False], ["a", str(A), 1, False]]),  # unsorted
        _raw([["a", str(A), 1, False], ["a", str(A), 1, False]]),  # duplicate
        _raw([["a", str(A), 1, False], ["a/b", str(A), 1, False]]),  # file and dir
        _raw([["a", "xxh128:short", 1, False]]),
        _raw([["a", str(A), -1, False]]),
        _raw([], dirs=["../up"]),
        # A .git anywhere would plant a repository (with hooks) inside the work tree.
        _raw([["sub/.git/hooks/post-checkout", str(A), 1, True]]),
        _raw([[".GIT/config", str(A), 1, False]]),
        _raw([["git~1/config", str(A), 1, False]]),
        _raw([[".git./config", str(A), 1, False]]),
        _raw([[".g\u200cit/config", str(A), 1, False]]),
        _raw([["a/.git", str(A), 1, False]]),
        _raw([], dirs=["x/.git"]),
        _raw([], dirs=[".Git "]),
        # One file on macOS and Windows: checking out one would overwrite the other.
        _raw([["A.csv", str(A), 1, False], ["a.csv", str(B), 1, False]]),
        _raw([["e\u0301.csv", str(A), 1, False], ["\u00e9.csv", str(B), 1, False]]),
        _raw([["Sub/x", str(A), 1, False], ["sub/y", str(B), 1, False]]),
        _raw([["a", str(A), 1, False]], dirs=["A"]),
        # Empty directories that are not: a file, below a file, holding a file.
        _raw([["a", str(A), 1, False]], dirs=["a"]),
        _raw([["a", str(A), 1, False]], dirs=["a/b"]),
        _raw([["a/b", str(A), 1, False]], dirs=["a"]),
        # Wrong shapes and impossible numbers.
        b"[]",
        b"[1, 2]",
        b"null",
        _raw([["a", str(A), 1, False]])[:-5],  # truncated
        _raw([["a", str(A), 2**63, False]]),
        _raw([["a", str(A), 10**30, False]]),
        _raw([["a", 5, 1, False]]),
        _raw([["a", "sha256:" + "ab" * 32, 1, False]]),
        _raw([["a", str(A), 1.5, False]]),
        _raw([["a", str(A), 1, "yes"]]),
        _raw([["a", str(A), 1]]),
        _raw([["a", str(A), 1, False, "extra"]]),
        _raw([["a", str(A), 1, False]]).replace(b'"a"', b'"\xff"'),  # not UTF-8
        _raw([["a", str(A), 1, False]]).replace(b"1,", b"NaN,"),
        _raw([]).replace(b'"empty_dirs":[]', b'"empty_dirs":' + b"[" * 100_000 + b"]" * 100_000),
    ],
)
def test_malformed_trees_are_rejected(data: bytes) -> None:
    with pytest.raises(ManifestError):
        Tree.decode(data)
