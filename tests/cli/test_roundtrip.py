"""Snapshot and checkout round trips through the real CLI in real git repositories."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import mlv as mlv_package
from mlv.storage.chunk import CHUNK_FROM
from tests.conftest import MlvRunner, git, tree_snapshot, write


def populate(root: Path) -> None:
    write(root / "data/raw/a.csv", "x,y\n1,2\n")
    write(root / "data/raw/nested/deeper/b.bin", os.urandom(70_000))
    write(root / "data/raw/empty-file", b"")
    (root / "data/raw/empty-dir/inner").mkdir(parents=True)
    write(root / "data/raw/run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    write(root / "data/raw/ünïcode name with spaces.txt", "snow ☃\n")
    write(root / "models/model.pkl", os.urandom(1000))


def test_round_trip_restores_exactly(project: Path, mlv: MlvRunner) -> None:
    populate(project)
    assert mlv("track", "data/raw", "models/model.pkl").code == 0
    first = mlv("snapshot", "-m", "v1")
    assert first.code == 0, first.err
    v1 = tree_snapshot(project / "data") | tree_snapshot(project / "models")

    # Change everything in every way a directory can change.
    write(project / "data/raw/a.csv", "x,y\n3,4\n")
    (project / "data/raw/nested/deeper/b.bin").unlink()
    write(project / "data/raw/new.txt", "added\n")
    (project / "data/raw/run.sh").chmod(0o644)
    shutil.rmtree(project / "data/raw/empty-dir")
    write(project / "models/model.pkl", b"retrained")
    assert mlv("snapshot", "-m", "v2").code == 0
    v2 = tree_snapshot(project / "data") | tree_snapshot(project / "models")
    assert v1 != v2

    result = mlv("checkout", "HEAD~1")
    assert result.code == 0, result.err
    assert tree_snapshot(project / "data") | tree_snapshot(project / "models") == v1
    assert mlv("status", "--check").code == 1  # the work tree now differs from mlv.lock (v2)

    assert mlv("checkout", "HEAD").code == 0
    assert tree_snapshot(project / "data") | tree_snapshot(project / "models") == v2
    assert mlv("status", "--check").code == 0

    again = mlv("checkout")
    assert again.code == 0 and "0 file(s) written" in again.out  # nothing to do


def test_checkout_of_one_path_leaves_the_rest(project: Path, mlv: MlvRunner) -> None:
    populate(project)
    mlv("track", "data/raw", "models/model.pkl")
    mlv("snapshot", "-m", "v1")
    old_csv = (project / "data/raw/a.csv").read_bytes()
    write(project / "data/raw/a.csv", "changed\n")
    write(project / "models/model.pkl", b"new model")
    mlv("snapshot", "-m", "v2")

    assert mlv("checkout", "HEAD~1", "--", "data/raw/a.csv").code == 0
    assert (project / "data/raw/a.csv").read_bytes() == old_csv
    assert (project / "models/model.pkl").read_bytes() == b"new model"

    assert mlv("checkout", "HEAD~1", "models/model.pkl").code == 0
    assert (project / "models/model.pkl").read_bytes() != b"new model"


def test_checkout_restores_deleted_artifacts_and_replaces_type_changes(
    project: Path, mlv: MlvRunner
) -> None:
    populate(project)
    mlv("track", "data/raw", "models/model.pkl")
    mlv("snapshot")
    before = tree_snapshot(project / "data")
    shutil.rmtree(project / "data/raw")
    write(project / "data/raw", "a file where a directory was")  # content is not in the store
    assert mlv("checkout").code == 1
    assert (project / "data/raw").is_file()
    assert mlv("checkout", "--force").code == 0
    assert tree_snapshot(project / "data") == before


def test_hardlink_mode_shares_the_store_inode_read_only(project: Path, mlv: MlvRunner) -> None:
    """Objects snapshotted in copy mode are packed: a chunked file is unpacked once and linked,
    a small packed one is copied (a link would need a loose copy of the same bytes)."""
    write(project / "data/big.bin", os.urandom(CHUNK_FROM + 50_000))
    write(project / "data/small.bin", os.urandom(50_000))
    mlv("track", "data")
    mlv("snapshot")
    text = (project / "mlv.toml").read_text().replace('link = "copy"', 'link = "hardlink"')
    (project / "mlv.toml").write_text(text)
    content = {p.name: p.read_bytes() for p in (project / "data").iterdir()}
    shutil.rmtree(project / "data")
    assert mlv("checkout").code == 0
    st = (project / "data/big.bin").stat()
    assert st.st_nlink == 2 and stat.S_IMODE(st.st_mode) == 0o444
    assert (project / "data/small.bin").stat().st_nlink == 1
    assert {p.name: p.read_bytes() for p in (project / "data").iterdir()} == content
    assert mlv("status", "--check").code == 0


def test_snapshot_json_and_log_and_show(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/d.csv", "1\n")
    mlv("track", "data/d.csv")
    snap = mlv("snapshot", "-m", "first", "--json")
    assert snap.code == 0
    doc = json.loads(snap.out)
    assert doc["artifacts"][0]["path"] == "data/d.csv" and doc["artifacts"][0]["change"] == "new"
    assert doc["commit"] == git(project, "rev-parse", "HEAD")
    assert doc["objects_added"] == 1

    log = json.loads(mlv("log", "--json").out)
    assert [e["subject"] for e in log] == ["first"]
    shown = json.loads(mlv("show", "HEAD", "--json").out)
    assert shown["lock"]["artifacts"]["data/d.csv"]["id"] == doc["artifacts"][0]["id"]
    assert shown["lock"]["schema"] == 3
    assert shown["lock"]["mlv"]["version"] == mlv_package.__version__
    assert shown["lock"]["tables"]["data/d.csv"]["file"] == doc["artifacts"][0]["id"]
    human = mlv("show", "HEAD")
    assert "data/d.csv" in human.out and "environment:" in human.out
