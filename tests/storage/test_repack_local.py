"""The local executor of repack plans (``mlv/storage/repack_local.py``), on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlv.storage.repack_local import repack
from mlv.storage.store import ObjectStore
from tests.stored import damage_packed


def files_in(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_pack_whose_live_blob_is_damaged_is_left_for_verify(
    tmp_path: Path, dry_run: bool
) -> None:
    cache = tmp_path / "cache"
    store = ObjectStore(cache)
    live = [store.add_bytes(f"live {i}".encode()) for i in range(3)]
    for i in range(10):
        store.add_bytes(f"dead {i}".encode() * 100)
    store.sync_written()
    store.close()
    damage_packed(cache, str(live[1]), "one byte flipped")
    before = files_in(cache / "packs")
    fresh = ObjectStore(cache)
    result = repack(fresh.packs, {bytes.fromhex(o.digest) for o in live}, dry_run=dry_run)
    fresh.close()
    assert result.rewritten_packs == [] and result.deleted_packs == []
    assert result.removed == set() and result.removed_bytes == 0
    assert files_in(cache / "packs") == before  # nothing copied out of it either


def test_a_damaged_pack_is_spared_and_the_others_are_still_repacked(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = ObjectStore(cache)
    damaged = store.add_bytes(b"live, damaged")
    store.add_bytes(b"dead one")
    store.sync_written()
    sound = store.add_bytes(b"live, sound")
    gone = store.add_bytes(b"dead two")
    store.sync_written()
    store.close()
    damage_packed(cache, str(damaged), "zeroed")
    fresh = ObjectStore(cache)
    live = {bytes.fromhex(o.digest) for o in (damaged, sound)}
    result = repack(fresh.packs, live, dry_run=False)
    fresh.close()
    assert len(result.rewritten_packs) == 1 and result.removed == {bytes.fromhex(gone.digest)}
    after = ObjectStore(cache)
    assert after.read_bytes(sound) == b"live, sound" and not after.exists(gone)
    assert len(list((cache / "packs").glob("*.pack"))) == 2  # the damaged one and the copy
