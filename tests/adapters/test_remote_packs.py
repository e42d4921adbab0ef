"""Packs on a directory remote: uploaded pack first, index last; listed through indexes; read
back by byte range (docs/format.md, "Remotes")."""

from __future__ import annotations

import os
from pathlib import Path

import xxhash

from mlv.adapters.dir_remote import init_root
from mlv.adapters.remote import RemoteStore
from mlv.adapters.remote_packs import RemotePacks
from mlv.model.remotes import RemoteDecl
from mlv.storage.outgoing import OutgoingPack
from mlv.storage.pack import BLOB


def _remote(tmp_path: Path) -> RemoteStore:
    root = tmp_path / "remote"
    init_root("r", root, parents=True)
    return RemoteStore(RemoteDecl("r", str(root)), tmp_path)


def _pack(tmp_path: Path, blobs: list[bytes]) -> tuple[OutgoingPack, bytes, str]:
    pack = OutgoingPack(tmp_path / "tmp")
    for data in blobs:
        pack.append(xxhash.xxh3_128_digest(data), BLOB, data)
    index, name = pack.seal()
    return pack, index, name


def test_an_uploaded_pack_is_listed_and_read_back_by_range(tmp_path: Path) -> None:
    remote = _remote(tmp_path)
    blobs = [b"first object", b"second" * 1000, b""]
    pack, index, name = _pack(tmp_path, blobs)
    RemotePacks(remote).upload(pack.path, index, name)
    pack.discard()

    reader = RemotePacks(remote)  # a fresh reader: nothing cached
    entries = reader.entries()
    assert set(entries) == {xxhash.xxh3_128_digest(b) for b in blobs}
    for data in blobs:
        entry = entries[xxhash.xxh3_128_digest(data)]
        assert entry.pack == name
        assert reader.read(entry) == data
    assert sorted(os.listdir(tmp_path / "remote" / "packs")) == [f"{name}.idx", f"{name}.pack"]


def test_a_pack_without_its_index_holds_nothing(tmp_path: Path) -> None:
    """An interrupted push (pack uploaded, index not) is invisible to readers."""
    remote = _remote(tmp_path)
    pack, index, name = _pack(tmp_path, [b"orphan"])
    packs = RemotePacks(remote)
    packs.upload(pack.path, index, name)
    (tmp_path / "remote" / "packs" / f"{name}.idx").unlink()
    assert RemotePacks(remote).entries() == {}


def test_a_damaged_index_is_reported_not_believed(tmp_path: Path) -> None:
    remote = _remote(tmp_path)
    pack, index, name = _pack(tmp_path, [b"one", b"two"])
    RemotePacks(remote).upload(pack.path, index, name)
    idx = tmp_path / "remote" / "packs" / f"{name}.idx"
    idx.chmod(0o644)
    data = bytearray(idx.read_bytes())
    data[20] ^= 1
    idx.write_bytes(bytes(data))
    reader = RemotePacks(remote)
    assert reader.entries() == {}
    assert reader.damaged == [f"{name}.idx"]


def test_indexes_are_read_once_and_new_packs_are_seen(tmp_path: Path) -> None:
    remote = _remote(tmp_path)
    reader = RemotePacks(remote)
    first, index, name = _pack(tmp_path, [b"a"])
    reader.upload(first.path, index, name)
    assert len(reader.entries()) == 1
    second, index2, name2 = _pack(tmp_path, [b"b", b"a"])
    reader.upload(second.path, index2, name2)
    entries = reader.entries()
    assert len(entries) == 2
    assert name != name2


def test_neighbouring_objects_are_read_in_one_request_and_far_ones_apart() -> None:
    from mlv.adapters.remote_packs import RemoteEntry
    from mlv.core.remote.pack_in import GAP, SPAN, spans

    near = {b"a": RemoteEntry("p", 0, 8, 100), b"b": RemoteEntry("p", 0, 200, 100)}
    assert len(spans(near)) == 1
    far = {b"a": RemoteEntry("p", 0, 8, 100), b"b": RemoteEntry("p", 0, 108 + GAP + 1, 10)}
    assert len(spans(far)) == 2
    other_pack = {b"a": RemoteEntry("p", 0, 8, 100), b"b": RemoteEntry("q", 0, 200, 100)}
    assert len(spans(other_pack)) == 2
    too_long = {b"a": RemoteEntry("p", 0, 8, SPAN), b"b": RemoteEntry("p", 0, SPAN + 8, 10)}
    assert len(spans(too_long)) == 2
