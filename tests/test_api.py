"""mlv.api against real projects: several revisions, files inside directories, a remote with an
empty local store, tables, typed results, errors, and the same answers as the commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlv import api
from mlv.core.history.log import LogEntry
from mlv.core.project import open_project
from mlv.core.record.snapshot import SnapshotResult
from mlv.core.record.status import StatusReport
from mlv.errors import (
    CheckFailed,
    CorruptObject,
    MissingObjects,
    NotARepository,
    PathError,
    UsageError,
)
from mlv.model.lineage import Lineage
from mlv.model.manifest import Lock
from tests.conftest import MlvRunner, git, write
from tests.stored import damage_packed


@pytest.fixture
def versions(project: Path, mlv: MlvRunner) -> Path:
    """Two snapshots: v1 and v2 of a directory artifact, a CSV and a Parquet table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    write(project / "data/raw/a.txt", "alpha v1\n")
    write(project / "data/raw/sub/b.bin", b"\x00\x01v1")
    write(project / "data/raw/sub/inner.csv", "k,v\n1,one\n2,two\n")
    write(project / "table.csv", "id,x,label\n1,0.5,a\n2,1.5,b\n")
    pq.write_table(pa.table({"id": [1, 2, 3], "y": [1.0, 2.0, 3.0]}), project / "t.parquet")
    assert mlv("track", "data/raw", "table.csv", "t.parquet").code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    git(project, "tag", "v1")
    write(project / "data/raw/a.txt", "alpha v2\n")
    write(project / "table.csv", "id,x,label\n1,0.5,a\n2,1.5,b\n3,2.5,c\n")
    assert mlv("snapshot", "-m", "v2").code == 0
    return project


def test_read_at_several_revisions_and_inside_a_directory(versions: Path) -> None:
    assert api.read_text("data/raw/a.txt", rev="v1") == "alpha v1\n"
    assert api.read_text("data/raw/a.txt", rev="HEAD") == "alpha v2\n"
    assert api.read_text("data/raw/a.txt") == "alpha v2\n"  # the work tree's mlv.lock
    assert api.read_bytes("data/raw/sub/b.bin", rev="HEAD~1") == b"\x00\x01v1"
    # Paths are relative to the repository root, from any directory, and any repo argument.
    os.chdir(versions / "data")
    assert api.read_text("table.csv", rev="v1").count("\n") == 3
    assert api.read_bytes("data/raw/a.txt", "v1", repo=versions / "data") == b"alpha v1\n"


def test_open_streams_and_checks_the_bytes(versions: Path) -> None:
    with api.open("data/raw/a.txt", rev="v1") as handle:
        assert handle.read(5) == b"alpha"
        assert handle.read() == b" v1\n"
    with api.open("table.csv", mode="r") as text:
        assert next(iter(text)) == "id,x,label\n"
    # A corrupt object in the store is reported when it is read, never served as the truth.
    lock = api.manifest("v1")
    oid = lock.artifacts["table.csv"].id
    damage_packed(versions / ".mlv/cache", str(oid), "another object's bytes")
    with pytest.raises(CorruptObject), api.open("table.csv", rev="v1") as handle:
        handle.read()


def test_read_table_csv_and_parquet(versions: Path) -> None:
    frame = api.read_table("table.csv", rev="v1")
    assert list(frame.columns) == ["id", "x", "label"] and len(frame) == 2
    assert list(api.read_table("table.csv")["label"]) == ["a", "b", "c"]
    table = api.read_table("t.parquet", columns=["y"], as_arrow=True)
    assert table.column_names == ["y"] and table.column("y").to_pylist() == [1.0, 2.0, 3.0]
    inner = api.read_table("data/raw/sub/inner.csv", rev="v1", columns=["v"])  # in a directory
    assert list(inner.columns) == ["v"] and list(inner["v"]) == ["one", "two"]
    with pytest.raises(UsageError, match="no column"):
        api.read_table("t.parquet", columns=["nope"])
    with pytest.raises(UsageError, match="not a table"):
        api.read_table("data/raw/a.txt")


def test_fetches_from_the_default_remote_into_an_empty_store(
    versions: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mlv("remote", "add", "origin", str(tmp_path / "remote"), "--default").code == 0
    git(versions, "add", "mlv.toml")
    git(versions, "commit", "-q", "-m", "remote")
    assert mlv("push", "v1", "HEAD").code == 0
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(versions), str(fresh))
    monkeypatch.chdir(fresh)
    assert not (fresh / "data").exists()
    assert api.read_text("data/raw/a.txt", rev="v1") == "alpha v1\n"  # tree, then file
    assert len(api.read_table("table.csv", rev="v1", as_arrow=True)) == 2
    # Without the remote, a missing object is a check failure naming it, not a traceback.
    shutil.rmtree(tmp_path / "remote")
    shutil.rmtree(fresh / ".mlv/cache")
    with pytest.raises(MissingObjects):
        api.read_bytes("data/raw/sub/b.bin", rev="v1")
    # The remote is there but lacks the object: the hint names it, not `mlv pull`.
    assert mlv("remote", "init", "origin").code == 0
    with pytest.raises(MissingObjects) as raised:
        api.read_bytes("data/raw/sub/b.bin", rev="v1")
    assert "the default remote 'origin' does not have it" in (raised.value.hint or "")


def test_the_work_tree_copy_serves_when_the_store_lacks_the_object(versions: Path) -> None:
    shutil.rmtree(versions / ".mlv/cache")
    assert api.read_text("table.csv").endswith("3,2.5,c\n")  # same content as recorded
    with pytest.raises(CheckFailed) as raised:  # the work tree holds v2, there is no remote
        api.read_text("table.csv", rev="v1")
    assert "could not be fetched" in (raised.value.hint or "")


def test_bad_input_raises_usage_errors(versions: Path) -> None:
    with pytest.raises(UsageError, match="not a tracked file"):
        api.read_bytes("README.md")
    with pytest.raises(UsageError, match="directory artifact"):
        api.read_bytes("data/raw")
    with pytest.raises(UsageError, match="unknown revision"):
        api.read_bytes("table.csv", rev="no-such-rev")
    with pytest.raises(UsageError):
        api.read_bytes("../outside.txt")
    with pytest.raises(UsageError, match="mode"):
        api.open("table.csv", mode="w")  # type: ignore[arg-type]


def test_an_absolute_path_is_one_on_this_machine(versions: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside/table.csv", "not tracked\n")
    inside = str(versions / "data/raw/a.txt")
    assert api.read_text(inside, rev="v1") == "alpha v1\n"
    with pytest.raises(PathError, match="outside the repository"):
        api.read_text("/table.csv")  # not the repository's table.csv
    with pytest.raises(PathError, match="outside the repository"):
        api.read_text(str(tmp_path / "outside/table.csv"))


def test_every_mistake_is_an_mlv_error(versions: Path, tmp_path: Path) -> None:
    with pytest.raises(NotARepository, match="does not exist"):
        api.log(repo=tmp_path / "nonexistent")
    with pytest.raises(NotARepository, match="not a directory"):
        api.log(repo=versions / "table.csv")
    with pytest.raises(UsageError, match="unknown encoding 'nope'"):
        api.read_text("table.csv", encoding="nope")


def test_the_snapshot_returned_is_the_one_written(versions: Path) -> None:
    write(versions / "data/raw/a.txt", "alpha v3\n")
    result = api.snapshot("v3")
    written = api.manifest("HEAD")
    assert result.lock == written and result.lock.schema == written.schema >= 3


def test_typed_results_are_what_the_commands_report(versions: Path, mlv: MlvRunner) -> None:
    report = api.status()
    assert isinstance(report, StatusReport) and not report.stale
    write(versions / "data/raw/a.txt", "alpha v3\n")
    assert api.status().stale
    result = api.snapshot("v3 from python")
    assert isinstance(result, SnapshotResult) and result.commit is not None
    assert git(versions, "log", "-1", "--format=%s") == "v3 from python"
    entries = api.log()
    assert all(isinstance(e, LogEntry) for e in entries)
    assert [e.subject for e in entries] == ["v3 from python", "v2", "v1"]
    assert [e.commit for e in entries] == [
        e["commit"] for e in json.loads(mlv("log", "--json").out)
    ]
    lock = api.manifest("v1")
    assert isinstance(lock, Lock)
    shown = json.loads(mlv("show", "v1", "--json").out)["lock"]
    assert json.loads(lock.encode()) == shown
    tree = api.lineage("table.csv", rev="v1")
    assert isinstance(tree, Lineage) and tree.root.origin == "tracked"
    assert tree.to_dict() == json.loads(
        mlv("lineage", "table.csv", "--rev", "v1", "--format", "json").out
    )


def test_importing_the_api_loads_no_heavy_library() -> None:
    code = (
        "import sys, mlv, mlv.api\n"
        "print([m for m in ('pyarrow', 'pandas', 'duckdb', 'click', 'rich') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_large_file_streams_and_is_checked_at_its_end(project: Path, mlv: MlvRunner) -> None:
    data = os.urandom(6 * 1024 * 1024 + 123)
    write(project / "big.bin", data)
    assert mlv("track", "big.bin").code == 0 and mlv("snapshot", "-m", "big").code == 0
    with api.open("big.bin") as handle:
        assert b"".join(iter(lambda: handle.read(65536), b"")) == data
        handle.seek(1000)  # reading from the middle: no check, same bytes
        assert handle.read(10) == data[1000:1010]
        handle.seek(5 * 1024 * 1024)  # a later chunk
        assert handle.read(10) == data[5 * 1024 * 1024 :][:10]
        handle.seek(0)  # from the start again: checked again
        assert handle.read() == data
    oid = api.manifest().artifacts["big.bin"].id
    project_ = open_project(project)
    try:
        chunks = project_.store.chunks_of(oid)
    finally:
        project_.close()
    assert len(chunks) > 1  # stored in chunks (docs/format.md): the last one is damaged
    damage_packed(project / ".mlv/cache", str(chunks[-1]), "one byte flipped")
    with api.open("big.bin") as handle:
        assert handle.read(1024) == data[:1024]  # what is read before the end is served
        with pytest.raises(CorruptObject):
            handle.read()


def test_the_api_sits_beside_the_command_line_not_on_it() -> None:
    from tests.test_layers import PACKAGE, imports

    names = imports(PACKAGE / "api.py")
    assert [
        n for n in names if n.split(".")[0] in ("click", "rich") or n.startswith("mlv.cli")
    ] == []
