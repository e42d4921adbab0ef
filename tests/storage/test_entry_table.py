"""The compact table of packed objects behaves as the dict it replaced."""

from mlv.storage.entry_table import Entry, EntryTable


def _d(n: int) -> bytes:
    return n.to_bytes(16, "big")


def test_lookup_across_packs_and_the_first_pack_loaded_wins() -> None:
    table = EntryTable()
    table.add_pack("one", [(_d(5), 0, 8, 3), (_d(1), 1, 20, 4)])
    table.add_pack("two", [(_d(5), 0, 99, 3), (_d(300), 0, 8, 7)])
    assert table.get(_d(5)) == Entry("one", 0, 8, 3)
    assert table[_d(1)] == Entry("one", 1, 20, 4)
    assert table.get(_d(2)) is None and _d(2) not in table and _d(300) in table
    assert list(table) == [_d(1), _d(5), _d(300)]  # each digest once, in order
    assert len(table) == 3
    assert dict(table.pairs())[_d(5)].pack == "one"


def test_many_packs_keep_their_load_order() -> None:
    # Past 255 packs a little-endian pack number would sort the 256th before the 1st.
    table = EntryTable()
    for n in range(300):
        table.add_pack(f"p{n}", [(_d(7), 0, n, 1)])
    assert table[_d(7)].pack == "p0"


def test_a_copy_does_not_see_later_packs_and_clear_empties() -> None:
    table = EntryTable()
    table.add_pack("one", [(_d(1), 0, 8, 3)])
    frozen = table.copy()
    table.add_pack("two", [(_d(2), 0, 8, 3)])
    assert _d(2) in table and _d(2) not in frozen and frozen[_d(1)].pack == "one"
    table.clear()
    assert _d(1) not in table and frozen[_d(1)].pack == "one"
