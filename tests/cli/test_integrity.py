"""A damaged object is never restored: every kind of damage, small and large objects, copy and
hardlink checkout. checkout and verify report it with exit 1 and name it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlv.storage.chunk import CHUNK_FROM
from mlv.storage.hashing import hash_bytes
from mlv.storage.loose import SMALL_FILE
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, write
from tests.stored import LOOSE_DAMAGE, PACK_DAMAGE, damage_loose, damage_packed

CASES = [("hardlink", how) for how in sorted(LOOSE_DAMAGE)] + [
    ("copy", how) for how in PACK_DAMAGE if how != "pack truncated"  # cuts later objects too
]


@pytest.mark.parametrize(("link", "damage"), CASES)
@pytest.mark.parametrize("size", [100, SMALL_FILE + 4096, CHUNK_FROM + 4096],
                         ids=["small", "large", "chunked"])  # fmt: skip
def test_damaged_object_is_never_restored(
    project: Path, mlv: MlvRunner, damage: str, size: int, link: str
) -> None:
    """A hard-linking project writes loose objects, others packs (chunked above CHUNK_FROM)."""
    if link == "hardlink":
        (project / ".mlv/config.toml").write_text('link = "hardlink"\n')
    content = os.urandom(size)
    write(project / "models/m.bin", content)
    write(project / "models/keep.txt", "intact\n")
    assert mlv("track", "models").code == 0
    assert mlv("snapshot").code == 0
    oid = hash_bytes(content)
    store = ObjectStore(project / ".mlv/cache")
    (project / "models/keep.txt").unlink()
    assert mlv("checkout").code == 0  # the link mode is in force:
    loose = store.path_of(hash_bytes(b"intact\n"))
    shares_inode = loose.exists() and os.path.samefile(project / "models/keep.txt", loose)
    assert shares_inode == (link == "hardlink")
    cache = project / ".mlv/cache"
    if link == "hardlink":
        damage_loose(cache, str(oid), damage)
        corrupt = [str(oid)]
    elif size >= CHUNK_FROM:  # damage its middle chunk: the file and that chunk are corrupt
        chunks = store.chunks_of(oid)
        middle = chunks[len(chunks) // 2]
        damage_packed(cache, str(middle), damage)
        corrupt = sorted({str(oid), str(middle)})
    else:
        damage_packed(cache, str(oid), damage)
        corrupt = [str(oid)]
    (project / "models/m.bin").unlink()
    (project / "models/keep.txt").unlink()

    result = mlv("checkout")
    assert result.code == 1, result.err
    assert "corrupt" in result.err and str(oid) in result.err and "hint:" in result.err
    assert not (project / "models/m.bin").exists()  # never a damaged file in the workspace
    assert [p.name for p in (project / ".mlv/tmp").iterdir()] == []

    verified = mlv("verify", "--json")
    assert verified.code == 1
    assert json.loads(verified.out)["corrupt"] == corrupt


def test_a_link_planted_in_the_store_is_never_hard_linked(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """Someone replaces an object by a symlink to a file outside with the same bytes: a hardlink
    checkout would then share that outside file's inode with the work tree."""
    (project / ".mlv/config.toml").write_text('link = "hardlink"\n')
    write(project / "m.bin", b"model bytes")
    assert mlv("track", "m.bin").code == 0
    assert mlv("snapshot").code == 0
    outside = write(tmp_path / "outside.bin", b"model bytes")
    obj = ObjectStore(project / ".mlv/cache").path_of(hash_bytes(b"model bytes"))
    obj.unlink()
    obj.symlink_to(outside)
    (project / "m.bin").unlink()
    result = mlv("checkout")
    assert result.code == 1 and "corrupt" in result.err, result.err
    assert not (project / "m.bin").exists()
    assert outside.stat().st_nlink == 1


def test_hardlink_checkout_replaces_a_file_that_is_there(project: Path, mlv: MlvRunner) -> None:
    """The name is taken: the link is made under a temporary name and renamed over it, so the
    file is old or new at every moment, and shares the store's inode afterwards."""
    (project / ".mlv/config.toml").write_text('link = "hardlink"\n')
    write(project / "data/a.csv", "one\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    (project / "data/a.csv").chmod(0o644)
    (project / "data/a.csv").unlink()
    write(project / "data/a.csv", "two\n")
    assert mlv("snapshot", "-m", "two").code == 0
    assert mlv("checkout", "HEAD~1").code == 0
    restored = project / "data/a.csv"
    assert restored.read_text() == "one\n"
    store = ObjectStore(project / ".mlv/cache")
    assert os.path.samefile(restored, store.path_of(hash_bytes(b"one\n")))
    assert [p.name for p in (project / ".mlv/tmp").iterdir()] == []


def test_checkout_refuses_exactly_the_objects_a_damaged_pack_affects(
    project: Path, mlv: MlvRunner
) -> None:
    """Damage inside one pack: verify names exactly the damaged objects (and the chunked file
    made of a damaged chunk); checkout restores every other file and refuses those."""
    big = os.urandom(CHUNK_FROM + 512 * 1024)
    files = {f"data/f{i}.bin": os.urandom(1000 + i) for i in range(6)} | {"data/big.bin": big}
    for path, content in files.items():
        write(project / path, content)
    assert mlv("track", "data").code == 0
    assert mlv("snapshot").code == 0
    cache = project / ".mlv/cache"
    store = ObjectStore(cache)
    chunk = store.chunks_of(hash_bytes(big))[1]
    damaged = {str(hash_bytes(files["data/f2.bin"])), str(chunk), str(hash_bytes(big))}
    damage_packed(cache, str(hash_bytes(files["data/f2.bin"])), "one byte flipped")
    damage_packed(cache, str(chunk), "zeroed")
    verified = mlv("verify", "--json")
    assert verified.code == 1 and json.loads(verified.out)["corrupt"] == sorted(damaged)
    for path in files:
        (project / path).unlink()

    result = mlv("checkout")
    assert result.code == 1 and "2 objects are corrupt" in result.err, result.err
    assert str(hash_bytes(big)) in result.err and "hint:" in result.err
    restored = {p: (project / p).read_bytes() for p in files if (project / p).exists()}
    assert restored == {p: c for p, c in files.items() if p not in ("data/f2.bin", "data/big.bin")}
    assert [p.name for p in (project / ".mlv/tmp").iterdir()] == []


def test_verify_reports_a_damaged_pack_index(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/a.csv", "a\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot").code == 0
    [idx] = (project / ".mlv/cache/packs").glob("*.idx")
    data = bytearray(idx.read_bytes())
    data[-1] ^= 1  # its checksum
    idx.chmod(0o644)
    idx.write_bytes(bytes(data))
    result = mlv("verify", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["damaged_indexes"] == [idx.name] and doc["missing"]  # its objects are unreadable
    human = mlv("verify")
    assert human.code == 1 and f"damaged pack index (its objects are unreadable): {idx.name}" in (
        human.out
    )


def test_a_damaged_chunk_list_is_reported_and_refused_alone(
    project: Path, mlv: MlvRunner
) -> None:
    big = os.urandom(CHUNK_FROM + 4096)
    write(project / "data/big.bin", big)
    write(project / "data/small.txt", "small\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot").code == 0
    damage_packed(project / ".mlv/cache", str(hash_bytes(big)), "another object's bytes")
    verified = mlv("verify", "--json")
    assert verified.code == 1, verified.err
    assert json.loads(verified.out)["corrupt"] == [str(hash_bytes(big))]
    for name in ("big.bin", "small.txt"):
        (project / "data" / name).unlink()
    result = mlv("checkout")
    assert result.code == 1 and str(hash_bytes(big)) in result.err, result.err
    assert (project / "data/small.txt").read_text() == "small\n"
    assert not (project / "data/big.bin").exists()


def test_a_store_in_a_newer_format_is_refused_with_the_upgrade_hint(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/a.csv", "a\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot").code == 0
    (project / ".mlv/cache/format").chmod(0o644)
    (project / ".mlv/cache/format").write_text("3\n")
    (project / "data/a.csv").unlink()
    for args in (["checkout"], ["verify"], ["snapshot"]):
        result = mlv(*args)
        assert result.code == 2, (args, result.err)
        assert "newer than this mlv reads" in result.err and "hint: upgrade mlv" in result.err
        assert "Traceback" not in result.err
