"""The streaming scan against two races a review found: a directory edited between the scan and
the legacy comparison, and tree levels that reached the store before their files."""

from __future__ import annotations

import json
from pathlib import Path

from mlv.core.objects.trees import load_tree
from mlv.core.project import open_project
from mlv.core.workspace.scanner import Scanner
from mlv.model.ids import ObjectId
from mlv.model.tree import encode_tree
from tests.conftest import MlvRunner, git, write
from tests.hostile import point_artifact, store_of


def _recorded(project: Path) -> ObjectId:
    return ObjectId.parse(json.loads((project / "mlv.lock").read_text())["artifacts"]["data"]["id"])


def test_an_edit_between_the_scan_and_the_legacy_comparison_is_not_remembered_as_equal(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/sub/f.txt", "A\n")
    write(project / "data/g.txt", "g\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "A").code == 0
    store = store_of(project)
    levels_a = _recorded(project)
    flat = load_tree(store.read_bytes, levels_a)
    rows = [(e.path, str(e.id), e.size, e.executable) for e in flat.entries]
    legacy = store.add_bytes(encode_tree(rows, flat.empty_dirs))
    point_artifact(project, "data", legacy)  # as an older mlv recorded content A
    git(project, "commit", "-qam", "format 1")

    opened = open_project(project)
    try:
        write(project / "data/sub/f.txt", "B\n")
        scan = Scanner(project, opened.state).scan("data")
        assert scan is not None
        assert scan.built.id != levels_a  # this scan saw B
        write(project / "data/sub/f.txt", "A\n")  # put back before the flat tree is made
        assert not scan.legacy_twin(legacy, opened.store.read_bytes)
        opened.state.flush()
    finally:
        opened.close()
    write(project / "data/sub/f.txt", "B\n")
    status = json.loads(mlv("status", "--json").out)["artifacts"][0]
    assert status["state"] == "modified" and status["modified"] == ["sub/f.txt"]
    assert mlv("snapshot", "-m", "B").code == 0
    assert mlv("verify").code == 0
    tree = load_tree(store_of(project).read_bytes, _recorded(project))
    assert [e.path for e in tree.entries] == ["g.txt", "sub/f.txt"]
    assert tree.by_path()["sub/f.txt"].size == 2 and _recorded(project) != legacy


def test_levels_in_the_store_without_their_files_do_not_stand_for_them(
    project: Path, mlv: MlvRunner
) -> None:
    write(project / "data/sub/old.txt", "old\n")
    assert mlv("track", "data").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    write(project / "data/sub/new.txt", "only copy\n")
    assert mlv("status").code == 0  # records the new levels, kept in state.db, not stored
    opened = open_project(project)
    try:
        records = opened.state.dir_records("data")
        kept = 0
        for rel, record in records.items():
            data = opened.state.dir_level("data", rel, record.id)
            if data is not None and not opened.store.exists(record.id):
                opened.store.add_bytes(data)  # what an interrupted pull leaves: levels only
                kept += 1
        assert kept  # the status did keep levels aside (else this test proves nothing)
    finally:
        opened.close()
    assert mlv("snapshot", "-m", "two").code == 0
    assert mlv("verify").code == 0  # new.txt was stored, not skipped for its level
