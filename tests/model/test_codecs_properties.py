"""Property-based tests: the manifest and tree codecs round-trip, and garbage never crashes them."""

from __future__ import annotations

import contextlib
import json
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId
from mlv.model.manifest import ArtifactRecord, Lock, decode_lock, encode_lock
from mlv.model.paths import find_collision, names_git_dir
from mlv.model.tree import Tree, TreeEntry

ids = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(ObjectId.xxh128)
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
# Windows drive names ("C:") are refused on purpose as the first component: they would be
# absolute there; so is any spelling of ".git", anywhere.
relpaths = (
    st.lists(names, min_size=1, max_size=4)
    .map("/".join)
    .filter(lambda p: not re.match(r"^[A-Za-z]:(/|$)", p) and not names_git_dir(p))
)


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    paths = draw(st.lists(relpaths, max_size=20, unique=True))
    assume(find_collision(paths) is None)  # case or Unicode twins are refused on purpose
    # A path cannot be both a file and a directory of another file.
    files = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    entries = [
        TreeEntry(p, draw(ids), draw(st.integers(0, 2**40)), draw(st.booleans())) for p in files
    ]
    return Tree(tuple(sorted(entries, key=lambda e: e.path)))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(trees())
def test_tree_round_trip(tree: Tree) -> None:
    data = tree.encode()
    assert Tree.decode(data) == tree
    assert Tree.decode(data).encode() == data


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_tree_garbage_is_a_clear_error(data: bytes) -> None:
    with contextlib.suppress(ManifestError):  # anything else (a crash) fails the test
        Tree.decode(data)


artifact_paths = relpaths.filter(
    lambda p: p.split("/")[0].lower() not in (".git", ".mlv") and p not in ("mlv.toml", "mlv.lock")
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.dictionaries(artifact_paths, st.tuples(ids, st.integers(0, 2**40)), max_size=8))
def test_lock_round_trip(records: dict[str, tuple[ObjectId, int]]) -> None:
    paths = [p for p in records if not any(q != p and q.startswith(p + "/") for q in records)]
    assume(find_collision(paths) is None)
    lock = Lock(
        artifacts={
            p: ArtifactRecord(
                kind="data", type="file", id=records[p][0], size=records[p][1], files=1
            )
            for p in paths
        }
    )
    data = encode_lock(lock)
    assert decode_lock(data) == lock
    assert encode_lock(decode_lock(data)) == data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps({"schema": 1, "artifacts": v}).encode()),
    )
)
def test_lock_garbage_is_a_clear_error(data: bytes) -> None:
    with contextlib.suppress(ManifestError):  # anything else (a crash) fails the test
        decode_lock(data)
