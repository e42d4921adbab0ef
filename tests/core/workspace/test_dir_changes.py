"""Comparing a tracked directory with a recorded format 2 tree through per-directory records: the
same answer as the whole comparison, reading only the directories that changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlv.core.progress import NullProgress
from mlv.core.workspace.dir_changes import DirChanges, compare
from mlv.core.workspace.scanner import Scan, Scanner
from mlv.model.ids import ObjectId
from mlv.model.tree import tree_format
from mlv.storage.state import StatCache
from mlv.storage.store import ObjectStore
from tests.conftest import write


def settle(cache: StatCache, root: Path) -> None:
    """Until the file system's clock has passed every file's mtime (they are no longer racy)."""
    newest = max(p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file())
    while cache.clock().fs_ns <= newest:
        time.sleep(0.001)


def scan(root: Path, cache: StatCache) -> Scan:
    found = Scanner(root, cache, progress=NullProgress()).scan("data")
    assert found is not None
    return found


def store(root: Path) -> ObjectStore:
    return ObjectStore(root / ".mlv" / "store")


def snapshot(root: Path) -> tuple[StatCache, ObjectId]:
    """Scan ``data`` storing its files and levels (as a snapshot does); the top level's id."""
    for d in range(5):
        for f in range(4):
            write(root / f"data/d{d}/f{f}.txt", f"{d} {f}\n")
    write(root / "data/top.txt", "top\n")
    (root / "data/empty").mkdir()
    cache = StatCache(root / ".mlv" / "state.db")
    settle(cache, root)
    first = scan(root, cache)
    first.store, first.added = store(root), {}
    tree = first.object_id()
    first.store.close()  # its pack written out
    cache.flush()
    assert tree_format(store(root).read_bytes(tree)) == 2
    return cache, tree


def compare_now(root: Path, cache: StatCache, tree: ObjectId) -> tuple[Scan, DirChanges | None]:
    now = scan(root, cache)
    return now, compare(now, tree, store(root).read_bytes)


def test_only_the_changed_directories_are_read_and_the_answer_is_exact(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    data = tmp_path / "data"
    (data / "d1/f0.txt").write_text("1 X\n")  # same size: only the stat says it moved
    write(data / "d2/new.txt", "new\n")
    (data / "d3/f3.txt").unlink()
    (data / "d4/f1.txt").chmod(0o755)
    write(data / "d5/f0.txt", "a new directory\n")
    now, changes = compare_now(tmp_path, cache, tree)
    assert changes is not None
    assert changes.added == ["d2/new.txt", "d5/f0.txt"]
    assert changes.modified == ["d1/f0.txt", "d4/f1.txt"]
    assert changes.deleted == ["d3/f3.txt"]
    assert not changes.empty_dirs_differ
    # Read: the changed and new files, at most their directories: never d0, top.txt.
    assert (
        0
        < now.built.hashed
        <= sum(
            p.stat().st_size for d in ("d1", "d2", "d3", "d4", "d5") for p in (data / d).iterdir()
        )
    )
    # Levels made again: the changed directories and the top (their parent), no other.
    assert set(now.built.levels) == {"", "d1", "d2", "d3", "d4", "d5"}


def test_one_changed_file_reads_its_directory_and_its_ancestors_alone(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    write(tmp_path / "data/d3/deep/er/f.txt", "deep\n")
    settle(cache, tmp_path)
    scan(tmp_path, cache).object_id()  # now known: the next change is one file
    cache.flush()
    deep = tmp_path / "data/d3/deep/er/f.txt"
    deep.write_text("DEEP\n")
    now, changes = compare_now(tmp_path, cache, tree)
    assert changes is not None and changes.added == ["d3/deep/er/f.txt"]
    assert now.built.hashed == len("DEEP\n")
    assert set(now.built.levels) == {"", "d3", "d3/deep", "d3/deep/er"}
    settle(cache, tmp_path)  # the edit was racy: its directory is read once more, then trusted
    assert scan(tmp_path, cache).object_id() == now.object_id()
    cache.flush()
    again = scan(tmp_path, cache)
    assert again.object_id() == now.object_id()
    assert again.built.levels == {} and again.built.hashed == 0  # records stand for all


def test_a_touched_file_is_unchanged_and_remembered(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    target = tmp_path / "data/d2/f2.txt"
    later = time.time_ns() - 10**9
    os.utime(target, ns=(later, later))  # a new stat, the same content
    settle(cache, tmp_path)
    now, changes = compare_now(tmp_path, cache, tree)
    assert changes is not None and changes.none
    assert now.built.hashed == len("2 2\n")  # the touched file alone
    cache.flush()
    again = scan(tmp_path, cache)
    assert again.object_id() == tree and again.built.hashed == 0  # remembered


def test_empty_directories_count(tmp_path: Path) -> None:
    cache, tree = snapshot(tmp_path)
    (tmp_path / "data/empty").rmdir()
    _, changes = compare_now(tmp_path, cache, tree)
    assert changes is not None and changes.empty_dirs_differ and not changes.none
    assert changes.added == changes.modified == changes.deleted == []


def test_without_a_record_of_the_tree_there_is_no_answer(tmp_path: Path) -> None:
    cache, _ = snapshot(tmp_path)
    _, changes = compare_now(tmp_path, cache, ObjectId.xxh128("0" * 32))
    assert changes is None


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
    first = scan(tmp_path, cache)
    first.store, first.added = store(tmp_path), {}
    tree = first.object_id()
    first.store.close()
    cache.flush()
    st = target.stat()
    with open(target, "r+b") as handle:
        handle.write(b"9")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    _, changes = compare_now(tmp_path, cache, tree)
    assert changes is not None and changes.modified == ["f1.txt"]


def test_the_records_of_a_removed_directory_are_forgotten(tmp_path: Path) -> None:
    cache, _ = snapshot(tmp_path)
    recorded = set(cache.dir_records("data"))
    assert recorded == {"", "empty", *(f"d{d}" for d in range(5))}
    for p in (tmp_path / "data/d4").iterdir():
        p.unlink()
    (tmp_path / "data/d4").rmdir()
    scan(tmp_path, cache).object_id()
    assert set(cache.dir_records("data")) == recorded - {"d4"}
