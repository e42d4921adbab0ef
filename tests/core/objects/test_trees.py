"""core/objects/trees.py: format 1 and format 2 trees read from a real store, hostile ones too."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlv.core.objects.trees import find, iter_files, load_tree, reach, tree_ids, walk
from mlv.errors import ManifestError, MlvError
from mlv.model.ids import ObjectId
from mlv.model.tree import EMPTY_NODE, DirEntry, TreeEntry, encode_node, encode_tree, split_tree
from mlv.storage.store import ObjectStore

ENTRIES = [
    ("a/b/c.txt", "1", 3, False),
    ("a/b/d.txt", "2", 4, True),
    ("a-x", "3", 1, False),
    ("z/y", "4", 2, False),
    ("top", "5", 5, False),
]
EMPTY = ["e/f", "g"]


def _fill(store: ObjectStore) -> list[tuple[str, ObjectId, int, bool]]:
    out = []
    for path, body, size, executable in ENTRIES:
        oid = store.add_bytes(body.encode() * size)
        out.append((path, oid, size, executable))
    return out


def _add_all(store: ObjectStore, objects: list[bytes]) -> ObjectId:
    oid = None
    for data in objects:  # children first, the top last
        oid = store.add_bytes(data)
    assert oid is not None
    return oid


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "cache", loose=True)  # so that a test can delete one


def test_both_formats_read_the_same(store: ObjectStore) -> None:
    entries = _fill(store)
    one = store.add_bytes(encode_tree(list(entries), EMPTY))
    two = _add_all(store, split_tree(entries, EMPTY))
    flat1, flat2 = load_tree(store.read_bytes, one), load_tree(store.read_bytes, two)
    assert flat1 == flat2
    assert [e.path for e in flat2.entries] == sorted(p for p, *_ in ENTRIES)
    assert flat2.empty_dirs == ("e/f", "g")
    assert list(iter_files(store.read_bytes, two)) == list(flat1.entries)
    ids = list(tree_ids(store.read_bytes, two))
    assert ids[0] == two and len(ids) == len(set(ids))
    assert store.add_bytes(EMPTY_NODE) in ids  # shared by e/f and g, listed once
    assert list(tree_ids(store.read_bytes, one)) == [one]


def test_find_a_file_and_a_directory(store: ObjectStore) -> None:
    entries = _fill(store)
    two = _add_all(store, split_tree(entries, EMPTY))
    one = store.add_bytes(encode_tree(list(entries), EMPTY))
    for tree in (one, two):
        hit = find(store.read_bytes, tree, "a/b/d.txt")
        assert isinstance(hit, TreeEntry) and hit.path == "a/b/d.txt" and hit.executable
        assert find(store.read_bytes, tree, "a/b/nope") is None
        assert find(store.read_bytes, tree, "top/below") is None
    sub = find(store.read_bytes, two, "a/b")
    assert isinstance(sub, DirEntry) and sub.files == 2 and sub.size == 7
    assert [e.path for e in iter_files(store.read_bytes, sub.id)] == ["c.txt", "d.txt"]


def test_walk_under_a_sub_path_reads_only_that_branch(store: ObjectStore) -> None:
    entries = _fill(store)
    objects = split_tree(entries, EMPTY)
    two = _add_all(store, objects)
    z_level = next(o for o in objects if b'"y"' in o)
    store.path_of(store.add_bytes(z_level)).unlink()  # z/ is gone: a walk of a/ must not care
    assert [x.path for x in walk(store.read_bytes, two, "a") if isinstance(x, TreeEntry)] == [
        "a/b/c.txt",
        "a/b/d.txt",
    ]
    assert list(walk(store.read_bytes, two, "e/f")) == ["e/f"]
    assert [x.path for x in walk(store.read_bytes, two, "top") if isinstance(x, TreeEntry)] == [
        "top"
    ]
    with pytest.raises(MlvError):
        load_tree(store.read_bytes, two)


def _claiming(store: ObjectStore, child: bytes, files: int, size: int) -> ObjectId:
    child_id = store.add_bytes(child)
    return store.add_bytes(encode_node([], [("d", child_id, files, size)]))


@pytest.mark.parametrize("files,size", [(2, 3), (1, 4), (0, 0)])
def test_a_level_holding_other_than_its_parent_says_is_malformed(
    store: ObjectStore, files: int, size: int
) -> None:
    oid = store.add_bytes(b"abc")
    top = _claiming(store, encode_node([("f", oid, 3, False)], []), files, size)
    with pytest.raises(ManifestError, match="parent says"):
        load_tree(store.read_bytes, top)
    with pytest.raises(ManifestError):
        list(tree_ids(store.read_bytes, top))
    got = reach(store.read_bytes, [top])
    assert len(got.unreadable) == 1 and top not in got.unreadable


def test_a_format_1_tree_below_the_top_is_malformed(store: ObjectStore) -> None:
    oid = store.add_bytes(b"abc")
    flat = encode_tree([("f", oid, 3, False)], [])
    top = _claiming(store, flat, 1, 3)
    with pytest.raises(ManifestError):
        load_tree(store.read_bytes, top)
    assert reach(store.read_bytes, [top]).unreadable == {store.add_bytes(flat)}


def test_deep_nesting_does_not_exhaust_the_stack(store: ObjectStore) -> None:
    oid = store.add_bytes(b"x")
    level = encode_node([("f", oid, 1, False)], [])
    for _ in range(5000):
        level = encode_node([], [("d", store.add_bytes(level), 1, 1)])
    top = store.add_bytes(level)
    (entry,) = iter_files(store.read_bytes, top)
    assert entry.path == "d/" * 5000 + "f"
    assert len(list(tree_ids(store.read_bytes, top))) == 5001
    assert reach(store.read_bytes, [top]).files == {oid}


def test_shared_subtrees_are_legal_and_expanded_once(store: ObjectStore) -> None:
    oid = store.add_bytes(b"x")
    leaf = store.add_bytes(encode_node([("f", oid, 1, False)], []))
    mid = store.add_bytes(encode_node([], [("a", leaf, 1, 1), ("b", leaf, 1, 1)]))
    top = store.add_bytes(
        encode_node([("g", oid, 1, False)], [("m", mid, 2, 2), ("n", leaf, 1, 1)])
    )
    assert [e.path for e in iter_files(store.read_bytes, top)] == ["g", "m/a/f", "m/b/f", "n/f"]
    assert sorted(tree_ids(store.read_bytes, top)) == sorted({top, mid, leaf})
    seen: list[set[ObjectId]] = []
    got = reach(store.read_bytes, [top], fetch=seen.append)
    assert got.trees == {top, mid, leaf} and not got.unreadable and got.files == {oid}
    assert seen == [{top}, {mid, leaf}]  # one batch per depth; leaf is not asked for again


def test_two_parents_disagreeing_about_a_level_mark_it_unreadable(store: ObjectStore) -> None:
    oid = store.add_bytes(b"x")
    leaf = store.add_bytes(encode_node([("f", oid, 1, False)], []))
    top = store.add_bytes(encode_node([], [("a", leaf, 1, 1), ("b", leaf, 2, 1)]))
    assert reach(store.read_bytes, [top]).unreadable == {leaf}
    with pytest.raises(ManifestError):
        list(iter_files(store.read_bytes, top))


def test_a_missing_level_is_reported_by_reach_and_raised_by_walks(store: ObjectStore) -> None:
    entries = _fill(store)
    objects = split_tree(entries, [])
    top = _add_all(store, objects)
    gone = store.add_bytes(objects[0])
    store.path_of(gone).unlink()
    got = reach(store.read_bytes, [top])
    assert got.unreadable == {gone} and gone in got.trees
    with pytest.raises(MlvError):
        list(iter_files(store.read_bytes, top))


def test_a_case_collision_within_a_level_is_refused(store: ObjectStore) -> None:
    oid = store.add_bytes(b"x")
    leaf = store.add_bytes(encode_node([("f", oid, 1, False)], []))
    top = store.add_bytes(encode_node([("D", oid, 1, False)], [("d", leaf, 1, 1)]))
    with pytest.raises(ManifestError):
        load_tree(store.read_bytes, top)
