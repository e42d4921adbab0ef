"""A lock written by an older mlv names a format 1 (flat) tree: it stays as it is while the
content is unchanged, and the first change writes a format 2 tree."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mlv.model.ids import ObjectId
from mlv.model.tree import encode_tree, tree_format
from mlv.storage.hashing import hash_bytes
from tests.conftest import MlvRunner, git, write
from tests.hostile import edit_lock, point_artifact, store_of


def states(mlv: MlvRunner) -> dict[str, dict[str, object]]:
    result = mlv("status", "--json")
    assert result.code == 0, result.err
    return {a["path"]: a for a in json.loads(result.out)["artifacts"]}


def recorded(project: Path) -> ObjectId:
    return ObjectId.parse(json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"])


def test_a_format_1_record_is_kept_while_unchanged_and_replaced_on_change(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/a.csv", "a\n")
    write(project / "data/sub/b.txt", "bb\n")
    (project / "data/empty").mkdir()
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    store = store_of(project)
    assert tree_format(store.read_bytes(recorded(project))) == 2  # what a snapshot writes now

    # What an older mlv recorded for the same content: one flat tree.
    flat = encode_tree(
        [
            ("a.csv", str(hash_bytes(b"a\n")), 2, False),
            ("sub/b.txt", str(hash_bytes(b"bb\n")), 3, False),
        ],
        ["empty"],
    )
    legacy = store.add_bytes(flat)
    point_artifact(project, "data", legacy)
    git(project, "commit", "-qam", "a lock of an older mlv")
    before = (project / "mlv.lock").read_bytes()

    assert states(mlv)["data"]["state"] == "unchanged"  # the contents compared, not the ids
    assert states(mlv)["data"]["state"] == "unchanged"  # (remembered the second time)
    assert mlv("snapshot", "-m", "again").code == 0
    assert (project / "mlv.lock").read_bytes() == before  # upgrading mlv rewrites nothing

    write(project / "data/sub/b.txt", "changed\n")
    status = states(mlv)["data"]
    assert status["state"] == "modified" and status["modified"] == ["sub/b.txt"]
    assert mlv("snapshot", "-m", "two").code == 0
    assert recorded(project) != legacy
    assert tree_format(store_of(project).read_bytes(recorded(project))) == 2
    assert states(mlv)["data"]["state"] == "unchanged"


def test_a_stage_record_naming_a_format_1_tree_is_up_to_date_until_the_content_changes(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/a.csv", "a\n")
    write(project / "data/sub/b.txt", "bb\n")
    (project / "data/empty").mkdir()
    code = "import os; open('out.txt','w').write(str(len(os.listdir('data'))))"
    add = mlv(
        "stage", "add", "count", "-d", "data", "-o", "out.txt", "--", sys.executable, "-c", code
    )
    assert add.code == 0, add.err
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "ran").code == 0
    store = store_of(project)
    lock = json.loads((project / "mlv.lock").read_text())
    levels_id = ObjectId.parse(lock["stages"]["count"]["deps"]["data"])

    # What an older mlv recorded for the dependency (not an artifact, so its levels are not
    # stored): the same listing as one flat tree.
    flat = encode_tree(
        [
            ("a.csv", str(hash_bytes(b"a\n")), 2, False),
            ("sub/b.txt", str(hash_bytes(b"bb\n")), 3, False),
        ],
        ["empty"],
    )
    flat_id = store.add_bytes(flat)
    assert flat_id != levels_id

    def mutate(doc: dict[str, Any]) -> None:
        doc["stages"]["count"]["deps"]["data"] = str(flat_id)

    edit_lock(project, mutate)
    git(project, "commit", "-qam", "a stage record of an older mlv")

    for _ in range(2):  # compared by content; remembered the second time
        assert "count: up to date" in mlv("run", "--dry-run").out
        report = json.loads(mlv("status", "--json").out)
        assert all(not s["stale"] for s in report["stages"]), report["stages"]
    assert mlv("snapshot", "-m", "again").code == 0
    kept = json.loads((project / "mlv.lock").read_text())["stages"]["count"]
    assert kept["deps"]["data"] == str(flat_id) and "stale" not in kept

    write(project / "data/sub/b.txt", "changed\n")
    assert "count: would run (dependency changed: data)" in mlv("run", "--dry-run").out
