"""The repack planner on plain data (``mlv/storage/repack.py``): no store, no remote."""

from __future__ import annotations

import xxhash

from mlv.storage.chunk import encode
from mlv.storage.pack import BLOB, CHUNKED
from mlv.storage.repack import (
    REWRITE_BELOW,
    SMALL_PACK,
    Collect,
    Drop,
    PackFacts,
    Plan,
    Record,
    Verify,
    plan_repack,
    worth_rewriting,
)

MiB = 1024 * 1024


def d(n: int) -> bytes:
    """A digest, as plain data."""
    return n.to_bytes(16, "big")


def records(*sizes: int, first: int = 0) -> list[Record]:
    """Blob entries of digests first, first+1, ... with these lengths, laid end to end."""
    found, offset = [], 8
    for i, size in enumerate(sizes):
        found.append((d(first + i), BLOB, offset + 25, size))
        offset += 25 + size
    return found


def gc_plan(packs: dict[str, PackFacts], live: set[bytes], owner: dict[bytes, str]) -> Plan:
    return plan_repack(packs, Collect(live, owner.get), Verify.BLOBS)


def only(name: str, held: list[Record], live: set[bytes], young: bool = False) -> Plan:
    """A plan for one pack that owns everything it holds."""
    return gc_plan({name: PackFacts(held, young)}, live, {r[0]: name for r in held})


def test_a_large_pack_is_rewritten_only_below_half_live() -> None:
    assert REWRITE_BELOW == 0.5
    half = SMALL_PACK // 2
    held = records(half, half)  # exactly SMALL_PACK bytes: not small
    at_half = only("a", held, {d(0)})
    assert at_half.rewrites == () and at_half.kept == ["a"]
    held = records(half - 1, half + 1)
    below = only("a", held, {d(0)})
    assert below.rewritten == ["a"]
    assert [r[0] for r in below.rewrites[0].copy] == [d(0)]
    assert worth_rewriting(100 * MiB, 50 * MiB - 1) and not worth_rewriting(100 * MiB, 50 * MiB)


def test_a_small_pack_is_rewritten_for_any_dead_byte() -> None:
    held = records(SMALL_PACK - 2, 1)  # one byte short of SMALL_PACK: small
    assert only("a", held, {d(0)}).rewritten == ["a"]
    held = records(SMALL_PACK - 1, 1)  # SMALL_PACK exactly: mostly live, left alone
    assert only("a", held, {d(0)}).rewrites == ()
    everything_live = only("a", records(10, 20), {d(0), d(1)})
    assert everything_live.rewrites == () and everything_live.removed == frozenset()


def test_a_pack_without_a_live_object_is_deleted_outright() -> None:
    plan = only("a", records(10, 20), set())
    assert plan.deleted == ["a"] and plan.rewritten == []
    assert len(plan.rewrites[0].copy) == 0
    assert plan.removed == {d(0), d(1)} and plan.removed_bytes == 30


def test_a_young_pack_is_never_touched_and_keeps_its_digests() -> None:
    packs = {
        "a": PackFacts(records(10, 20), young=True),  # all dead, but young
        "b": PackFacts(records(10, 5, first=1)),  # holds d(1) too, and d(2)
    }
    plan = gc_plan(packs, set(), {d(0): "a", d(1): "a", d(2): "b"})
    assert plan.young == ["a"] and plan.deleted == ["b"] and plan.kept == ["a"]
    assert plan.removed == {d(2)}  # d(1) is still in the young pack
    assert plan.removed_bytes == 15


def test_a_pack_whose_index_is_damaged_is_left_and_holds_nothing() -> None:
    packs = {"a": PackFacts(None), "b": PackFacts(records(10))}
    plan = gc_plan(packs, set(), {d(0): "b"})
    assert plan.damaged == ["a"] and plan.kept == ["a"] and plan.young == []
    assert plan.deleted == ["b"] and plan.removed == {d(0)}
    young_and_damaged = gc_plan({"a": PackFacts(None, young=True)}, set(), {})
    assert young_and_damaged.damaged == ["a"] and young_and_damaged.young == []


def test_of_a_digest_two_packs_hold_the_pack_readers_use_keeps_it() -> None:
    a = records(10, 10)  # d(0), d(1)
    b = records(10, 10, first=1)  # d(1), d(2)
    packs = {"a": PackFacts(a), "b": PackFacts(b)}
    live = {d(0), d(1), d(2)}
    by_b = gc_plan(packs, live, {d(0): "a", d(1): "b", d(2): "b"})
    assert by_b.rewritten == ["a"] and by_b.kept == ["b"]  # a's d(1) counts dead there
    assert [r[0] for r in by_b.rewrites[0].copy] == [d(0)] and by_b.removed == frozenset()
    by_a = gc_plan(packs, live, {d(0): "a", d(1): "a", d(2): "b"})
    assert by_a.rewritten == ["b"] and [r[0] for r in by_a.rewrites[0].copy] == [d(2)]
    # A pack the readers' table does not know (listed since): its copy is kept there too.
    unknown = gc_plan(packs, live, {d(0): "a"})
    assert unknown.rewrites == ()


def test_removed_counts_digests_no_pack_keeps_and_the_dead_bytes() -> None:
    packs = {
        "a": PackFacts(records(100, 200, 300)),  # d(0..2): d(0) live
        "b": PackFacts(records(40, first=3)),  # d(3): dead
        "c": PackFacts(records(SMALL_PACK, 7, first=4)),  # large, mostly live: stays
    }
    owner = {d(i): n for i, n in enumerate("aaabcc")}
    plan = gc_plan(packs, {d(0), d(4)}, owner)
    assert plan.rewritten == ["a"] and plan.deleted == ["b"] and plan.kept == ["c"]
    assert plan.removed == {d(1), d(2), d(3)}  # d(5) is dead but its pack stays
    assert plan.removed_bytes == 200 + 300 + 40
    spared = plan.spare("a")  # its copy failed the check: it stays as it is
    assert spared.rewritten == [] and spared.kept == ["a", "c"]
    assert spared.removed == {d(3)} and spared.removed_bytes == 40
    assert plan.removed == {d(1), d(2), d(3)}  # the plan itself is unchanged


def test_rewrites_come_in_pack_name_order() -> None:
    packs = {n: PackFacts(records(10, first=i)) for i, n in enumerate(["c", "a", "b"])}
    plan = gc_plan(packs, set(), {})
    assert [r.pack for r in plan.rewrites] == ["a", "b", "c"]


def test_repair_rewrites_every_pack_holding_a_damaged_digest_and_keeps_the_rest() -> None:
    packs = {
        "a": PackFacts(records(SMALL_PACK, 10)),  # large and mostly live: rewritten anyway
        "b": PackFacts(records(10, 10, first=1)),  # d(1) again (another copy), d(2)
        "c": PackFacts(records(5, first=3)),  # nothing damaged: left alone
    }
    plan = plan_repack(packs, Drop({d(1)}))
    assert plan.rewritten == ["a", "b"] and plan.kept == ["c"] and plan.verify is Verify.NOTHING
    copies = {r.pack: [e[0] for e in r.copy] for r in plan.rewrites}
    assert copies == {"a": [d(0)], "b": [d(2)]}
    assert plan.removed == {d(1)}


def test_repair_copies_every_other_entry_whoever_reads_it() -> None:
    packs = {"a": PackFacts(records(10, 10)), "b": PackFacts(records(10, 10, first=1))}
    plan = plan_repack(packs, Drop({d(2)}))  # d(1) is in both: b's copy is kept as well
    assert plan.rewritten == ["b"] and [e[0] for e in plan.rewrites[0].copy] == [d(1)]


def test_repair_drops_an_empty_object_too() -> None:
    plan = plan_repack({"a": PackFacts(records(10, 0))}, Drop({d(1)}))
    assert plan.rewritten == ["a"]  # no byte is dead, one entry is


def test_the_checks_executors_make_of_a_copy() -> None:
    data = b"some bytes"
    blob: Record = (xxhash.xxh3_128_digest(data), BLOB, 0, len(data))
    assert all(v.sound(blob, data) for v in Verify)
    assert not Verify.BLOBS.sound(blob, b"other byte") and not Verify.ALL.sound(blob, b"x")
    assert Verify.NOTHING.sound(blob, b"other byte")
    listing = encode([(d(1), 5)])
    chunked: Record = (d(9), CHUNKED, 0, len(listing))
    assert all(v.sound(chunked, listing) for v in Verify)
    assert Verify.BLOBS.sound(chunked, listing[:-1])  # local gc does not check chunk lists
    assert not Verify.ALL.sound((d(9), CHUNKED, 0, 23), listing[:-1])  # no list of 23 bytes
    # A read that came back short is refused even when what came is a list.
    assert not Verify.ALL.sound((d(9), CHUNKED, 0, 2 * len(listing)), listing)
