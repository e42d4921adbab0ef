"""A damaged byte in a local pack: `mlv pull` re-gets exactly the damaged objects from the
remote and checks out; `mlv verify --repair` does the same for any corrupt object (a chunked
file through its one damaged chunk only)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlv.core.project import open_project
from mlv.core.remote.push import push
from mlv.model.ids import ObjectId
from mlv.storage.chunk import CHUNK_FROM
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, write


def _pushed(project: Path, mlv: MlvRunner, tmp_path: Path) -> None:
    for i in range(6):
        write(project / f"data/f{i}.bin", os.urandom(2000))
    write(project / "models/big.bin", os.urandom(CHUNK_FROM + 500_000))  # chunked
    assert mlv("track", "data", "models/big.bin").code == 0
    assert mlv("remote", "add", "origin", str(tmp_path / "remote")).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    proj = open_project(project)
    try:
        assert push(proj, packed=True).complete
    finally:
        proj.close()


def _damage(project: Path, oid: ObjectId) -> None:
    """Flip one byte in the middle of the object's record in its local pack."""
    store = ObjectStore(project / ".mlv/cache")
    entry = store.packs.find(bytes.fromhex(oid.digest))
    assert entry is not None and entry.pack
    pack = store.packs.dir / f"{entry.pack}.pack"
    store.close()
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.seek(entry.offset + entry.length // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    pack.chmod(0o444)


def _file_id(project: Path, path: str) -> ObjectId:
    store = ObjectStore(project / ".mlv/cache")
    tree_id = json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    from mlv.core.objects.trees import load_tree

    tree = load_tree(store.read_bytes, ObjectId.parse(tree_id))
    store.close()
    return next(e.id for e in tree.entries if e.path == path)


def test_pull_refetches_a_damaged_packed_object_then_checks_out(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    _pushed(project, mlv, tmp_path)
    content = (project / "data/f3.bin").read_bytes()
    oid = _file_id(project, "f3.bin")
    _damage(project, oid)
    (project / "data/f3.bin").unlink()
    refused = mlv("checkout")
    assert refused.code == 1 and "corrupt" in refused.err and "verify --repair" in refused.err
    assert not (project / "data/f3.bin").exists()
    assert mlv("fetch").code == 0  # the index says present: fetch alone does not fix it
    assert mlv("checkout").code == 1

    pulled = mlv("pull")
    assert pulled.code == 0, pulled.err
    assert (project / "data/f3.bin").read_bytes() == content
    checked = mlv("verify", "--json")
    assert checked.code == 0 and json.loads(checked.out)["corrupt"] == []


def test_verify_repair_refetches_only_the_damaged_chunk(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    _pushed(project, mlv, tmp_path)
    lock = json.loads((project / "mlv.lock").read_text())
    big = ObjectId.parse(lock["artifacts"]["models/big.bin"]["id"])
    store = ObjectStore(project / ".mlv/cache")
    chunks = store.chunks_of(big)
    store.close()
    assert len(chunks) > 3
    _damage(project, chunks[1])
    _damage(project, _file_id(project, "f0.bin"))
    bad = json.loads(mlv("verify", "--json").out)
    assert set(bad["corrupt"]) == {str(chunks[1]), str(big), str(_file_id(project, "f0.bin"))}

    fixed = mlv("verify", "--repair", "--json")
    assert fixed.code == 0, fixed.out
    doc = json.loads(fixed.out)
    assert doc["ok"] and doc["corrupt"] == [] and doc["unrepaired"] == []
    assert set(doc["repaired"]) == set(bad["corrupt"])
    assert doc["refetched"] == 2  # the damaged chunk and the small file, not the whole file
    (project / "models/big.bin").unlink()
    (project / "data/f0.bin").unlink()
    assert mlv("checkout").code == 0
    human = mlv("verify", "--repair")
    assert human.code == 0 and "repaired" not in human.out  # nothing to repair


def test_a_damaged_object_the_remote_lacks_is_left_and_reported(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    _pushed(project, mlv, tmp_path)
    write(project / "data/new.bin", os.urandom(3000))
    assert mlv("snapshot", "-m", "v2").code == 0  # not pushed
    _damage(project, _file_id(project, "new.bin"))
    result = mlv("verify", "--repair", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["unrepaired"] == [str(_file_id(project, "new.bin"))]
    assert doc["corrupt"] == doc["unrepaired"]  # still there, still reported
