"""Loose objects (format 1, still written for hard-linking projects); packs: test_pack.py."""

import ctypes
import errno
import os
import stat
import sys
from pathlib import Path

import pytest

from mlv.errors import CorruptObject, MissingObjects, ObjectTooLarge
from mlv.storage import fsutil
from mlv.storage.hashing import hash_bytes
from mlv.storage.loose import SMALL_FILE, FileChanged
from mlv.storage.store import MAX_IN_MEMORY, ObjectStore


def test_add_file_is_content_addressed_read_only_and_fanned_out(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", loose=True)
    src = tmp_path / "src"
    src.write_bytes(b"hello")
    oid = hash_bytes(b"hello")
    store.add_file(src, oid)
    path = store.path_of(oid)
    assert path == tmp_path / "cache" / "xxh128" / oid.digest[:2] / oid.digest[2:]
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.exists(oid) and store.verify(oid)
    store.add_file(src, oid)  # adding again is harmless
    assert list(store.iter_ids()) == [oid]
    assert os.listdir(tmp_path / "cache" / "tmp") == []


def test_add_file_refuses_content_that_does_not_match(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", loose=True)
    src = tmp_path / "src"
    src.write_bytes(b"changed meanwhile")
    oid = hash_bytes(b"what was hashed")
    with pytest.raises(FileChanged):
        store.add_file(src, oid)
    assert not store.exists(oid)
    assert os.listdir(tmp_path / "cache" / "tmp") == []


def test_a_large_file_is_hashed_again_after_the_copy(tmp_path: Path) -> None:
    """Above SMALL_FILE the kernel copies the file unread by mlv: only hashing the copy tells
    that the bytes are not the ones hashed before (the file was rewritten in between)."""
    store = ObjectStore(tmp_path / "cache", loose=True)
    src = tmp_path / "big"
    src.write_bytes(os.urandom(SMALL_FILE + 1))
    hashed_before = hash_bytes(os.urandom(SMALL_FILE + 1))  # what the scan had seen
    with pytest.raises(FileChanged, match="big changed while mlv was reading it"):
        store.add_file(src, hashed_before, display="big")
    assert not store.exists(hashed_before)
    assert list(store.iter_ids()) == []
    assert os.listdir(tmp_path / "cache" / "tmp") == []


class SyncCalls:
    """Records the store's sync calls and passes them on to the real ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, whole_fs: bool = True) -> None:
        self.whole: list[Path] = []
        self.fsyncs: list[tuple[str, bool]] = []

        real_sync, real_fsync = fsutil.sync_filesystem, fsutil.fsync_path

        def sync_filesystem(path: Path) -> str | None:
            self.whole.append(path)
            return real_sync(path) if whole_fs else None

        def fsync_path(path: str, *, directory: bool = False) -> None:
            self.fsyncs.append((path, directory))
            real_fsync(path, directory=directory)

        monkeypatch.setattr(fsutil, "sync_filesystem", sync_filesystem)
        monkeypatch.setattr(fsutil, "fsync_path", fsync_path)


def test_sync_written_syncs_once_what_was_published_since_the_last_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = SyncCalls(monkeypatch)
    store = ObjectStore(tmp_path / "cache", loose=True)
    assert store.sync_written() == 0  # nothing written: no sync at all
    assert calls.whole == [] and calls.fsyncs == []

    src = tmp_path / "src"
    src.write_bytes(b"file")
    ids = [store.add_bytes(b"one"), store.add_bytes(b"two"), hash_bytes(b"file")]
    store.add_file(src, ids[2])
    store.add_bytes(b"one")  # already there: not written again
    assert store.sync_written() == 3
    assert calls.whole == [tmp_path / "cache"]  # one file-system sync for the batch
    fans = {str(store.path_of(oid).parent) for oid in ids}
    root = str(tmp_path / "cache")
    # Directories only, never a file one by one: each fan-out that got a name, its parent,
    # the root.
    assert {p for p, is_dir in calls.fsyncs if is_dir} == fans | {f"{root}/xxh128", root}
    assert all(is_dir for _, is_dir in calls.fsyncs)
    assert store.sync_written() == 0  # the batch is done
    assert len(calls.whole) == 1


def test_sync_written_fsyncs_each_object_where_no_whole_file_system_sync_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = SyncCalls(monkeypatch, whole_fs=False)  # as on macOS: sync(2) may return early
    store = ObjectStore(tmp_path / "cache", loose=True)
    ids = [store.add_bytes(b"one"), store.add_bytes(b"two")]
    assert store.sync_written() == 2
    files = [p for p, is_dir in calls.fsyncs if not is_dir]
    assert sorted(files) == sorted(str(store.path_of(oid)) for oid in ids)
    assert str(tmp_path / "cache") in [p for p, is_dir in calls.fsyncs if is_dir]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_sync_filesystem_uses_syncfs_and_falls_back_to_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fsutil.sync_filesystem(tmp_path) == "syncfs"

    def refused(fd: int) -> int:  # what a seccomp filter without syncfs answers
        ctypes.set_errno(errno.ENOSYS)
        return -1

    monkeypatch.setattr(fsutil, "_syncfs_cache", [refused])
    assert fsutil.sync_filesystem(tmp_path) == "sync"

    def failed(fd: int) -> int:  # a write-back error is the disk's, and must not pass unseen
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(fsutil, "_syncfs_cache", [failed])
    with pytest.raises(OSError) as caught:
        fsutil.sync_filesystem(tmp_path)
    assert caught.value.errno == errno.EIO and caught.value.filename == str(tmp_path)
    monkeypatch.setattr(fsutil, "_syncfs_cache", [None])  # no syncfs in this libc
    assert fsutil.sync_filesystem(tmp_path) == "sync"


def test_read_bytes_detects_missing_and_corrupt(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", loose=True)
    oid = store.add_bytes(b"tree bytes")
    assert store.read_bytes(oid) == b"tree bytes"
    path = store.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(b"tree bytez")
    with pytest.raises(CorruptObject):
        store.read_bytes(oid)
    assert not store.verify(oid)
    with pytest.raises(MissingObjects):
        store.read_bytes(hash_bytes(b"never stored"))


def test_read_bytes_refuses_a_huge_object_unread(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", loose=True)
    small = store.add_bytes(b"x" * 100)
    assert store.read_bytes(small, max_size=100) == b"x" * 100
    with pytest.raises(ObjectTooLarge, match="101 bytes"):
        store.read_bytes(store.add_bytes(b"x" * 101), max_size=100)
    # A sparse file past the default limit: refused from its size alone, before any read.
    forged = hash_bytes(b"forged")
    path = store.path_of(forged)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(MAX_IN_MEMORY + 1)
    with pytest.raises(ObjectTooLarge) as info:
        store.read_bytes(forged)
    assert info.value.exit_code == 2 and info.value.hint


def test_add_bytes_stores_read_only_too(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache", loose=True)
    oid = store.add_bytes(b'{"format":1,"entries":[]}')
    mode = stat.S_IMODE(store.path_of(oid).stat().st_mode)
    assert mode == 0o444, oct(mode)
