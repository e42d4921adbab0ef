"""The live set both gcs keep (``mlv.core.objects.kept.live_set``), on plain data: trees read from a
dict, chunk lists from a function."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mlv.core.objects.kept import Named, live_set
from mlv.errors import CheckFailed, MissingObjects
from mlv.model.ids import ObjectId
from mlv.model.tree import encode_tree
from mlv.storage.hashing import hash_bytes


@dataclass
class Trees:
    held: dict[ObjectId, bytes]
    trees_only: bool = True  # may_be_tree: only ids that are trees here
    read_ids: list[ObjectId] = field(default_factory=list)

    def read(self, oid: ObjectId) -> bytes:
        self.read_ids.append(oid)
        if oid not in self.held:
            raise MissingObjects([str(oid)])
        return self.held[oid]

    def absent(self, oid: ObjectId) -> bool:
        return oid not in self.held

    def may_be_tree(self, oid: ObjectId) -> bool:
        return not self.trees_only or self.held.get(oid, b"").startswith(b'{"format":')


def oid(name: str) -> ObjectId:
    return hash_bytes(name.encode())


def tree(*files: str) -> tuple[ObjectId, bytes]:
    data = encode_tree([(f, str(oid(f)), 1, False) for f in files], [])
    return hash_bytes(data), data


def refuse(unreadable: set[ObjectId]) -> CheckFailed:
    return CheckFailed(f"{len(unreadable)} unreadable")


def named(
    trees: set[ObjectId], others: set[ObjectId] | None = None, salvaged: set[ObjectId] | None = None
) -> Named:
    found = Named()
    found.objects = trees | (others or set())
    found.trees = set(trees)
    found.salvaged = salvaged or set()
    return found


def no_chunks(objects: set[ObjectId]) -> set[ObjectId]:
    return set()


def test_the_files_of_every_tree_and_the_chunks_of_every_live_chunked_file() -> None:
    top, data = tree("a", "b")
    big = oid("big")
    asked: list[set[ObjectId]] = []

    def chunks(objects: set[ObjectId]) -> set[ObjectId]:
        asked.append(set(objects))
        return {oid("chunk")} if big in objects else set()

    live = live_set([(named({top}, {big}), True)], Trees({top: data}), chunks, refuse)
    assert live.objects == {top, big, oid("a"), oid("b")}  # what gc counts as kept
    assert live.everything() == live.objects | {oid("chunk")}
    assert asked == [live.objects]


def test_an_absent_top_tree_is_passed_over_unless_strict() -> None:
    top, _ = tree("a")
    live = live_set([(named({top}), False)], Trees({}), no_chunks, refuse)
    assert live.objects == {top}
    with pytest.raises(CheckFailed, match="1 unreadable"):
        live_set([(named({top}), True)], Trees({}), no_chunks, refuse)
    # Passed over once, it is read again for a later root that must have it.
    roots = [(named({top}), False), (named({top}), True)]
    with pytest.raises(CheckFailed):
        live_set(roots, Trees({}), no_chunks, refuse)


def test_a_damaged_tree_stops_gc_even_when_not_strict() -> None:
    top, data = tree("a")
    with pytest.raises(CheckFailed):
        live_set([(named({top}), False)], Trees({top: data[:-1]}), no_chunks, refuse)


def test_a_salvaged_id_is_expanded_when_it_is_a_tree_and_passed_over_when_not() -> None:
    top, data = tree("a")
    blob = oid("a file")
    trees = Trees({top: data, blob: b"not a tree"})
    live = live_set([(named(set(), salvaged={top, blob}), False)], trees, no_chunks, refuse)
    assert live.objects == {top, blob, oid("a")}
    assert blob not in trees.read_ids  # peeked, not read
    trees = Trees({top: data, blob: b"not a tree"}, trees_only=False)
    live = live_set([(named(set(), salvaged={top, blob}), False)], trees, no_chunks, refuse)
    assert live.objects == {top, blob, oid("a")} and blob in trees.read_ids


def test_no_chunk_list_is_read_once_a_tree_is_refused() -> None:
    top, _ = tree("a")

    def chunks(objects: set[ObjectId]) -> set[ObjectId]:
        raise AssertionError("chunk lists read before the trees were checked")

    with pytest.raises(CheckFailed):
        live_set([(named({top}), True)], Trees({}), chunks, refuse)


def test_a_copy_of_the_closure_grows_alone() -> None:
    one, data_one = tree("a")
    two, data_two = tree("b")
    trees = Trees({one: data_one, two: data_two})
    live = live_set([(named({one}), True)], trees, no_chunks, refuse)
    more = live.closure.copy()
    more.add(named({two}), strict=False)
    assert more.objects == {one, two, oid("a"), oid("b")}
    assert live.objects == {one, oid("a")}
