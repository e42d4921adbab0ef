"""Hostile objects (issue #7): huge ones, ones of the wrong type, self-reference, forged patches.

Each forged object is planted in the store and named from mlv.lock; the real CLI refuses it
(exit 2, an error and a hint), reports it corrupt, or restores its bytes as the file they are.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from mlv.model.ids import ObjectId
from mlv.model.tree import encode_tree
from mlv.storage.hashing import hash_bytes
from mlv.storage.store import MAX_IN_MEMORY
from tests.conftest import MlvRunner, git, tree_snapshot, write
from tests.hostile import (
    edit_lock,
    peak_memory,
    point_artifact,
    refused,
    sparse,
    store_of,
    tracked_dir,
)

# -- Too large to read -----------------------------------------------------------------------------


def test_a_huge_object_named_as_a_tree_is_refused_unread(project: Path, mlv: MlvRunner) -> None:
    tracked_dir(project, mlv)
    forged = hash_bytes(b"anything: only the size is looked at")
    sparse(store_of(project).path_of(forged), MAX_IN_MEMORY + 1)
    point_artifact(project, "data", forged)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        result, peak = peak_memory(lambda: mlv(*args))  # noqa: B023
        refused(result, f"{MAX_IN_MEMORY + 1:,} bytes")
        assert peak < 64 * 1024 * 1024, (args, peak)
    assert tree_snapshot(project / "data") == before
    verified = mlv("verify", "--json")  # re-hashing streams it: reported corrupt
    assert verified.code == 1 and json.loads(verified.out)["corrupt"] == [str(forged)]


# -- Objects of the wrong type, and self-reference -------------------------------------------------


def test_a_file_record_naming_a_tree_restores_its_bytes_or_is_refused(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """Ids name bytes, not types: with the true size the tree's bytes are a file like any other;
    with a size the object does not have, the record is forged and nothing is restored."""
    tracked_dir(project, mlv)
    write(project / "m.pkl", "model")
    mlv("track", "m.pkl")
    mlv("snapshot")
    tree_id = ObjectId.parse(
        json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    )
    tree_bytes = store_of(project).read_bytes(tree_id)
    outside = sorted(p.name for p in tmp_path.iterdir())
    point_artifact(project, "m.pkl", tree_id, size=5)  # the size no longer matches the object
    refused(mlv("checkout", "--force"), "recorded as 5 bytes")
    assert (project / "m.pkl").read_text() == "model"
    point_artifact(project, "m.pkl", tree_id, size=len(tree_bytes))
    result = mlv("checkout", "--force")
    assert result.code == 0, result.err
    assert (project / "m.pkl").read_bytes() == tree_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == outside


@pytest.mark.parametrize(
    "content", [b"\x00\x01 a model's bytes", b'{"accuracy": 0.9}\n', b"[1, 2]", b""]
)
def test_a_dir_record_naming_a_file_is_refused(
    project: Path, mlv: MlvRunner, content: bytes
) -> None:
    tracked_dir(project, mlv)
    not_a_tree = store_of(project).add_bytes(content)
    point_artifact(project, "data", not_a_tree)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"]):
        refused(mlv(*args), "malformed tree object")
    assert tree_snapshot(project / "data") == before
    verified = mlv("verify", "--json")  # it used to say all was well
    assert verified.code == 1 and json.loads(verified.out)["not_trees"] == [str(not_a_tree)]
    assert "not a tree object" in mlv("verify").out


def test_a_tree_entry_naming_another_tree_restores_its_bytes(project: Path, mlv: MlvRunner) -> None:
    """A tree names its children by content; one of them being a tree's bytes is just a file."""
    tracked_dir(project, mlv)
    store = store_of(project)
    inner = ObjectId.parse(
        json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"]
    )
    size = len(store.read_bytes(inner))
    wrong = store.add_bytes(encode_tree([("nested", inner, 1, False)], []))
    point_artifact(project, "data", wrong)
    before = tree_snapshot(project / "data")
    refused(mlv("checkout", "--force"), "recorded as 1 bytes")  # a forged size
    assert tree_snapshot(project / "data") == before  # refused before anything changed
    outer = store.add_bytes(
        encode_tree([("a.csv", inner, size, False), ("nested", inner, size, True)], [])
    )
    point_artifact(project, "data", outer)
    result = mlv("checkout", "--force")
    assert result.code == 0, result.err
    assert (project / "data/nested").read_bytes() == store.read_bytes(inner)
    assert sorted(p.name for p in (project / "data").iterdir()) == ["a.csv", "nested"]
    assert mlv("verify").code == 0  # the closure stops at one level: nothing to loop on


def test_a_forged_self_referencing_tree_is_reported_corrupt(project: Path, mlv: MlvRunner) -> None:
    """A tree cannot name itself (its id hashes its own bytes): a forged one is reported corrupt."""
    tracked_dir(project, mlv)
    store = store_of(project)
    self_id = hash_bytes(b"the id the forged tree claims")
    forged = encode_tree([("a.csv", self_id, 1, False), ("self", self_id, 1, False)], [])
    path = store.path_of(self_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(forged)
    point_artifact(project, "data", self_id)
    before = tree_snapshot(project / "data")
    for args in (["checkout", "--force"], ["status"], ["verify"]):
        result = mlv(*args)
        assert result.code == 1 and "corrupt" in result.err + result.out, (args, result)
        assert "Traceback" not in result.err
    assert tree_snapshot(project / "data") == before


@pytest.mark.parametrize("patch", [b"not a patch\n", b"", b"diff --git a/x b/x\n--- garbage"])
def test_a_code_patch_that_is_not_one_is_refused_by_reproduce(
    project: Path, mlv: MlvRunner, patch: bytes
) -> None:
    write(project / "make.py", "open('out.txt', 'w').write('1')\n")
    git(project, "add", "make.py")
    git(project, "commit", "-qm", "code")
    cmd = f"{shlex.quote(sys.executable)} make.py"
    assert mlv("stage", "add", "make", "-d", "make.py", "-o", "out.txt", "--", cmd).code == 0
    assert mlv("run").code == 0
    write(project / "make.py", "open('out.txt', 'w').write('1')  # dirty\n")
    assert mlv("snapshot", "-m", "dirty").code == 0
    forged = store_of(project).add_bytes(patch)
    edit_lock(project, lambda doc: doc["code"].update(patch=str(forged)))
    git(project, "commit", "-qam", "forged patch")
    before = tree_snapshot(project)
    refused(mlv("reproduce", "HEAD"), "patch does not apply")  # it was exit 3, "a bug"
    assert tree_snapshot(project) == before
