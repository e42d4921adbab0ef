"""Edges of the file helpers: a rename that fails, a source that shrinks or cannot be copied
into, and the file-system sync off Linux."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from mlv.storage import fsutil
from mlv.storage.fsutil import _copy_range, copy_into, place, try_reflink


def test_place_renames_onto_the_destination(tmp_path: Path) -> None:
    tmp, dst = tmp_path / ".dst.tmp", tmp_path / "dst"
    tmp.write_bytes(b"new")
    dst.write_bytes(b"old")
    place(tmp, dst)
    assert dst.read_bytes() == b"new" and not tmp.exists()


def test_place_that_cannot_rename_removes_its_temporary_file(tmp_path: Path) -> None:
    tmp, dst = tmp_path / "d/.dst.tmp", tmp_path / "d/dst"
    (tmp_path / "d").mkdir()
    tmp.write_bytes(b"new")
    (dst / "inside").mkdir(parents=True)  # a non-empty directory cannot be replaced by a file
    with pytest.raises(OSError):
        place(tmp, dst)
    assert not tmp.exists()
    assert os.listdir(tmp_path / "d") == ["dst"] and os.listdir(dst) == ["inside"]


def test_a_copy_stops_where_the_source_ends(tmp_path: Path) -> None:
    """A source that shrank after its size was read: the copy ends at its end, not in a loop;
    the caller's hash of the copy then notices."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"x" * 1000)
    with open(src, "rb") as source, open(dst, "wb") as target:
        _copy_range(source.fileno(), target.fileno(), 0, 5000)
    assert dst.read_bytes() == b"x" * 1000


def test_a_copy_into_a_file_not_open_for_writing_raises(tmp_path: Path) -> None:
    """Only 'cannot clone or copy between these files' falls back (to a copy, to read-and-write);
    any other error raises, from the clone and from the in-kernel copy alike."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"data" * 1000)
    dst.write_bytes(b"")
    fd = os.open(dst, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as cloning:
            try_reflink(src, fd)
        with pytest.raises(OSError) as copying, open(src, "rb") as source:
            _copy_range(source.fileno(), fd, 0, 4000)
        with pytest.raises(OSError):
            copy_into(src, fd, str(dst))
    finally:
        os.close(fd)
    assert cloning.value.errno == copying.value.errno == errno.EBADF
    assert dst.read_bytes() == b""


def test_off_linux_there_is_no_file_system_sync_to_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sync(2) may return before the data is on disk elsewhere: None tells the caller to fsync
    each file (tests/storage/test_store.py checks that it does)."""
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fsutil._load_syncfs() is None
    monkeypatch.setattr(fsutil, "_syncfs_cache", [None])
    assert fsutil.sync_filesystem(tmp_path) is None
