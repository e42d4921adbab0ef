"""push(packed=True) sends packs to a directory remote; fetch reads them back by byte range,
and a remote holding both packs and loose (format 1) objects serves both."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.push import push
from mlv.core.remote.resolve import open_remote
from mlv.model.ids import ObjectId
from mlv.storage.chunk import CHUNK_FROM
from tests.cli.test_remote import clone, make_data
from tests.conftest import MlvRunner, tree_snapshot, write


def _snapshot(project: Path, mlv: MlvRunner, remote: Path) -> None:
    make_data(project)
    write(project / "models/big.bin", os.urandom(CHUNK_FROM + 300_000))  # chunked
    assert mlv("track", "data/raw", "models/m.pkl", "models/big.bin").code == 0
    assert mlv("remote", "add", "origin", str(remote)).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0


def test_packed_push_then_pull_in_a_clone(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    result = push(open_project(project), packed=True)
    assert result.complete and result.transferred > 20
    packs = sorted(p.name for p in (remote / "packs").iterdir())
    assert len(packs) == 2 and packs[0].endswith(".idx") and packs[1].endswith(".pack")
    assert not (remote / "xxh128").exists()  # nothing loose
    # Marked format 2 before the first pack: an mlv that reads only format 1 refuses it.
    assert json.loads((remote / "mlv-remote.json").read_text())["format"] == 2
    again = push(open_project(project), packed=True)
    assert again.transferred == 0 and again.already_there == result.transferred

    copy = clone(project, tmp_path / "copy", monkeypatch)
    pulled = mlv("pull")
    assert pulled.code == 0, pulled.err
    for name in ("data", "models"):
        assert tree_snapshot(copy / name) == tree_snapshot(project / name)


def test_a_corrupt_object_in_a_remote_pack_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    push(open_project(project), packed=True)
    pack = next((remote / "packs").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[60] ^= 0xFF  # inside the first object (after the magic and one header)
    pack.write_bytes(bytes(data))
    copy = clone(project, tmp_path / "copy", monkeypatch)
    result = fetch(open_project(copy))
    assert len(result.corrupt) == 1 and not result.complete


def test_a_remote_with_loose_and_packed_objects_serves_both(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    assert mlv("push", "--loose").code == 0  # format 1: one file per object
    write(project / "data/raw/part0/new.bin", os.urandom(5000))
    assert mlv("snapshot", "-m", "v2").code == 0
    result = push(open_project(project), packed=True)
    assert result.transferred == 3  # the new file and the levels that list it: part0/, top
    assert len(list((remote / "packs").glob("*.idx"))) == 1
    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert mlv("pull").code == 0
    assert tree_snapshot(copy / "data") == tree_snapshot(project / "data")


def test_many_small_objects_of_one_pack_come_in_few_requests(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlv.adapters.remote_packs import RemotePacks
    from mlv.core.remote.pack_in import PackFetcher
    from mlv.core.remote.resolve import open_remote

    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    push(open_project(project), packed=True)
    copy = clone(project, tmp_path / "copy", monkeypatch)
    target = open_project(copy)
    rpacks = RemotePacks(open_remote(target, None))
    entries = rpacks.entries()
    wanted = sorted(
        ObjectId.xxh128(d.hex()) for d, e in entries.items() if e.length < 10_000
    )
    fetcher = PackFetcher(target.store, rpacks, entries)
    fetcher.fetch(wanted, 2, lambda _: None)
    assert fetcher.transferred == len(wanted) > 20 and not fetcher.corrupt
    assert fetcher.requests <= len(wanted) // 5  # neighbours share a read


def test_gc_and_verify_see_what_remote_packs_hold(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """gc's "is it backed by a remote" and `verify --remote` read the indexes (and chunk lists),
    with the same sizes as the local store's: nothing packed counts as missing."""
    from mlv.core.objects.closure import closure, local_tree_reader, locks_at
    from mlv.core.remote.pack_in import remote_sizes
    from mlv.core.remote.resolve import open_remote

    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    local = open_project(project)
    push(local, packed=True)
    head = locks_at(local, ["HEAD"], include_worktree=False)
    needed = closure(head, local_tree_reader(local)).objects
    sizes = remote_sizes(open_remote(local, None), needed)
    assert sizes == {oid: local.store.size_of(oid) for oid in needed}
    assert any(local.store.chunks_of(oid) for oid in sizes)  # a chunked file among them
    checked = mlv("verify", "--remote", "origin", "--json")
    assert checked.code == 0, checked.out + checked.err
    assert json.loads(checked.out)["remote_missing"] == []


def test_a_one_byte_edit_in_a_large_file_pushes_only_the_chunks_around_it(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    from mlv.storage.chunk import MAXIMUM

    remote = tmp_path / "remote"
    big = write(project / "big.bin", os.urandom(12 * 1024 * 1024))
    assert mlv("track", "big.bin").code == 0
    assert mlv("remote", "add", "origin", str(remote)).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    first = push(open_project(project), packed=True)
    assert first.bytes > 12 * 1024 * 1024
    data = bytearray(big.read_bytes())
    data[6 * 1024 * 1024] ^= 1
    big.chmod(0o644)
    big.write_bytes(bytes(data))
    assert mlv("snapshot", "-m", "v2").code == 0
    second = push(open_project(project), packed=True)
    assert second.transferred >= 1 and 0 < second.bytes <= 3 * MAXIMUM


def test_a_hostile_remote_pack_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack replaced by a link is no pack (its objects are missing, nothing is read through
    it); an index naming bytes past the end of its pack gives objects that are refused."""
    from mlv.storage.pack import decode_index, encode_index

    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    push(open_project(project), packed=True)
    pack = next((remote / "packs").glob("*.pack"))
    index = pack.with_suffix(".idx")
    secret = write(tmp_path / "secret.bin", pack.read_bytes())
    moved = pack.rename(tmp_path / "pack.bak")
    pack.symlink_to(secret)
    copy = clone(project, tmp_path / "copy", monkeypatch)
    linked = fetch(open_project(copy))
    assert linked.transferred == 0 and linked.missing
    pack.unlink()
    moved.rename(pack)

    entries = decode_index(index.read_bytes()) or []
    past_end = {d: (kind, offset + 10**9, length) for d, kind, offset, length in entries}
    forged = encode_index(past_end)
    name = forged[-16:].hex()  # named by its digest, as mlv names an index: it is believed
    (remote / "packs" / f"{name}.idx").write_bytes(forged)
    pack.rename(remote / "packs" / f"{name}.pack")
    index.unlink()
    result = fetch(open_project(copy))
    assert not result.complete and result.transferred == 0 and result.corrupt


def test_an_index_not_named_by_its_digest_is_not_believed(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index rewritten under an existing pack's name (say, pointing at other bytes) is
    damaged: its objects are missing, not read; the genuine one, cached, still serves."""
    from mlv.storage.pack import decode_index, encode_index

    remote = tmp_path / "remote"
    _snapshot(project, mlv, remote)
    push(open_project(project), packed=True)
    index = next((remote / "packs").glob("*.idx"))
    entries = decode_index(index.read_bytes()) or []
    shifted = {d: (kind, offset + 1, length) for d, kind, offset, length in entries}
    genuine = index.read_bytes()
    index.chmod(0o644)
    index.write_bytes(encode_index(shifted))  # whole (its checksum holds), misnamed
    copy = clone(project, tmp_path / "copy", monkeypatch)
    result = fetch(open_project(copy))
    assert result.transferred == 0 and result.missing and not result.corrupt
    listed = mlv("verify", "--remote", "origin", "--json")
    assert listed.code == 1 and json.loads(listed.out)["remote_missing"]

    index.write_bytes(genuine)
    assert fetch(open_project(copy)).complete
    cached = copy / ".mlv/cache/remote-indexes" / index.name
    assert cached.read_bytes() == genuine
    index.write_bytes(encode_index(shifted))  # the same size: readers here keep the copy ...
    readers = RemotePacks(open_remote(open_project(copy), None), cached.parent)
    assert set(readers.entries()) == {d for d, _, _, _ in entries} and readers.indexes_read == 0
    # ... but verify reads the remote's own index, reports it, and drops the copy.
    assert mlv("verify", "--remote", "origin").code == 1
    assert not cached.exists()
