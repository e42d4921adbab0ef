from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from tests.conftest import MlvRunner, write


def states(mlv: MlvRunner) -> dict[str, dict[str, object]]:
    result = mlv("status", "--json")
    assert result.code == 0, result.err
    return {a["path"]: a for a in json.loads(result.out)["artifacts"]}


def test_status_states(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/raw/a.csv", "1\n")
    write(project / "data/raw/sub/b.csv", "2\n")
    write(project / "models/m.pkl", b"m")
    write(project / "feat.parquet", b"f")
    mlv("track", "data/raw", "models/m.pkl")
    s = states(mlv)
    assert {p: a["state"] for p, a in s.items()} == {
        "data/raw": "not snapshotted",
        "models/m.pkl": "not snapshotted",
    }
    assert mlv("status", "--check").code == 1

    mlv("snapshot")
    assert {a["state"] for a in states(mlv).values()} == {"unchanged"}
    assert mlv("status", "--check").code == 0

    write(project / "data/raw/a.csv", "changed\n")
    write(project / "data/raw/sub/new.csv", "3\n")
    (project / "data/raw/sub/b.csv").unlink()
    (project / "models/m.pkl").unlink()
    mlv("track", "feat.parquet")
    s = states(mlv)
    assert s["data/raw"]["state"] == "modified"
    assert s["data/raw"]["added"] == ["sub/new.csv"]
    assert s["data/raw"]["modified"] == ["a.csv"]
    assert s["data/raw"]["deleted"] == ["sub/b.csv"]
    assert s["models/m.pkl"]["state"] == "deleted"
    assert s["feat.parquet"]["state"] == "not snapshotted"
    human = mlv("status")
    assert "~ data/raw/a.csv" in human.out and "mlv snapshot" in human.out
    assert mlv("status", "--check").code == 1


def test_status_notices_same_size_same_second_edits(project: Path, mlv: MlvRunner) -> None:
    f = write(project / "data/f.bin", b"AAAA")
    mlv("track", "data/f.bin")
    mlv("snapshot")
    st = f.stat()
    f.write_bytes(b"BBBB")  # same size; restore the old mtime to defeat a naive stat check
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert states(mlv)["data/f.bin"]["state"] == "modified"


def test_executable_bit_is_a_change(project: Path, mlv: MlvRunner) -> None:
    f = write(project / "tools/run.sh", "#!/bin/sh\n")
    mlv("track", "tools/run.sh")
    mlv("snapshot")
    f.chmod(0o755)
    assert states(mlv)["tools/run.sh"]["state"] == "modified"


def test_environment_and_code_sections(project: Path, mlv: MlvRunner) -> None:
    write(project / "data/f", "1")
    write(project / "requirements.txt", "numpy==1\n")
    mlv("track", "data/f")
    mlv("snapshot")
    doc = json.loads(mlv("status", "--json").out)
    assert doc["environment"]["changed"] is False
    assert doc["code"] == {"changed": False}
    (project / "requirements.txt").write_text("numpy==2\n")
    write(project / "train.py", "print('x')\n")
    from tests.conftest import git

    git(project, "add", "train.py")
    doc = json.loads(mlv("status", "--json").out)
    assert doc["environment"]["lockfiles_changed"] == ["requirements.txt"]
    assert doc["code"] == {"changed": True}
    assert doc["stale"] is False  # drift is reported, it does not fail --check


def _age(root: Path, seconds: int = 60) -> None:
    """Make every file look written a while ago, so the stat cache may trust it."""
    old = time.time_ns() - seconds * 1_000_000_000
    for dirpath, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(dirpath, name), ns=(old, old))


def test_unchanged_directory_fast_path_still_sees_edits(project: Path, mlv: MlvRunner) -> None:
    for i in range(20):
        write(project / f"data/d{i % 3}/f{i}.csv", f"{i}\n")
    _age(project / "data")
    mlv("track", "data")
    mlv("snapshot")
    assert states(mlv)["data"]["state"] == "unchanged"  # remembers the directories' fingerprints
    with sqlite3.connect(project / ".mlv/state.db") as db:
        rows = db.execute("SELECT dir FROM dirs WHERE path = 'data' AND fingerprint != ''")
        assert sorted(r[0] for r in rows) == ["", "d0", "d1", "d2"]  # one per directory

    f = project / "data/d1/f4.csv"
    f.write_text("4 edited\n")
    assert states(mlv)["data"]["modified"] == ["d1/f4.csv"]
    mlv("checkout", "--force")

    # Same size, old mtime put back, but a new inode (an editor's save-by-rename).
    _age(project / "data")
    assert states(mlv)["data"]["state"] == "unchanged"
    st = f.stat()
    tmp = project / "data/d1/.tmp"
    tmp.write_text("X\n")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    tmp.replace(f)
    assert states(mlv)["data"]["modified"] == ["d1/f4.csv"]


def test_edit_in_the_same_tick_as_checkout_is_seen(project: Path, mlv: MlvRunner) -> None:
    f = write(project / "data/f.bin", b"AAAA")
    mlv("track", "data/f.bin")
    mlv("snapshot")
    f.write_bytes(b"BBBB")
    assert mlv("checkout", "--force").code == 0  # mlv writes AAAA back
    st = f.stat()
    with open(f, "r+b") as handle:  # another program edits in place right after, same size
        handle.write(b"CCCC")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... within the same timestamp tick
    assert states(mlv)["data/f.bin"]["state"] == "modified"
