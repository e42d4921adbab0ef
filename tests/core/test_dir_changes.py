"""Comparing a tracked directory with a recorded tree through per-directory fingerprints: the
same answer as the whole comparison, reading only the directories that changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlv.core.dir_changes import compare
from mlv.core.progress import NullProgress
from mlv.core.workspace import Scan, Scanner
from mlv.model.ids import ObjectId
from mlv.storage.state import StatCache
from tests.conftest import write


class Hashed(NullProgress):
    """Counts the bytes a scan hashes."""

    def __init__(self) -> None:
        self.bytes = 0

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        self.bytes += total or 0


def settle(cache: StatCache, root: Path) -> None:
    """Until the file system's clock has passed every file's mtime (they are no longer racy)."""
    newest = max(p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file())
    while cache.clock().fs_ns <= newest:
        time.sleep(0.001)


def scan(root: Path, cache: StatCache, progress: Hashed | None = None) -> Scan:
    found = Scanner(root, cache, progress=progress or Hashed()).scan("data")
    assert found is not None
    return found


def snapshot(root: Path) -> tuple[StatCache, ObjectId]:
    for d in range(5):
        for f in range(4):
            write(root / f"data/d{d}/f{f}.txt", f"{d} {f}\n")
    write(root / "data/top.txt", "top\n")
    (root / "data/empty").mkdir()
    cache = StatCache(root / ".mlv" / "state.db")
    settle(cache, root)
    tree = scan(root, cache).object_id()
    cache.flush()
    return cache, tree


def test_only_the_changed_directories_are_read_and_the_answer_is_exact(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    data = tmp_path / "data"
    (data / "d1/f0.txt").write_text("1 X\n")  # same size: only the stat says it moved
    write(data / "d2/new.txt", "new\n")
    (data / "d3/f3.txt").unlink()
    (data / "d4/f1.txt").chmod(0o755)
    write(data / "d5/f0.txt", "a new directory\n")
    progress = Hashed()
    changes = compare(scan(tmp_path, cache, progress), tree)
    assert changes is not None
    assert changes.added == ["d2/new.txt", "d5/f0.txt"]
    assert changes.modified == ["d1/f0.txt", "d4/f1.txt"]
    assert changes.deleted == ["d3/f3.txt"]
    assert not changes.empty_dirs_differ
    # Read: the changed and new files, plus the unchanged rest of their directories whose
    # cached ids were racy (d1, d2 and d4 were just written to): never d0, top.txt.
    assert progress.bytes <= sum(
        p.stat().st_size for d in ("d1", "d2", "d3", "d4", "d5") for p in (data / d).iterdir()
    )
    assert (data / "d0").exists() and progress.bytes > 0


def test_a_touched_file_is_unchanged_and_remembered(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    target = tmp_path / "data/d2/f2.txt"
    later = time.time_ns() - 10**9
    os.utime(target, ns=(later, later))  # a new stat, the same content
    settle(cache, tmp_path)
    changes = compare(scan(tmp_path, cache), tree)
    assert changes is not None and changes.none
    again = scan(tmp_path, cache)
    assert again.known_id() == tree  # remembered: nothing to compare next time


def test_empty_directories_count(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    (tmp_path / "data/empty").rmdir()
    changes = compare(scan(tmp_path, cache), tree)
    assert changes is not None and changes.empty_dirs_differ and not changes.none


def test_without_a_record_of_the_tree_there_is_no_answer(tmp_path: Path) -> None:
    cache, _ = snapshot(tmp_path)
    assert compare(scan(tmp_path, cache), ObjectId.xxh128("0" * 32)) is None


def test_an_edit_in_a_racily_recorded_directory_is_found(tmp_path: Path) -> None:
    """A directory recorded while one of its files was racy (an mtime at or after the clock)
    has no trusted fingerprint; an edit with its mtime put back is found."""
    for f in range(3):
        write(tmp_path / f"data/f{f}.txt", f"{f}\n")
    cache = StatCache(tmp_path / ".mlv" / "state.db")
    target = tmp_path / "data/f1.txt"
    st = target.stat()
    future = time.time_ns() + 3600 * 10**9  # later than any clock reading: always racy
    os.utime(target, ns=(future, future))
    tree = scan(tmp_path, cache).object_id()
    cache.flush()
    st = target.stat()
    with open(target, "r+b") as handle:
        handle.write(b"9")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    changes = compare(scan(tmp_path, cache), tree)
    assert changes is not None and changes.modified == ["f1.txt"]
