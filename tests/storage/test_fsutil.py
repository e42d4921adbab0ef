"""Atomic writes and copies, and where their fault marks fall."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlv import faults
from mlv.storage.fsutil import copy_into, write_all, write_bytes_atomic


@pytest.fixture
def eio_at_first_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(faults.ENV, "eio@1")
    faults.reload()
    yield
    monkeypatch.delenv(faults.ENV)
    faults.reload()


def test_a_data_write_fault_falls_after_half_the_bytes(
    tmp_path: Path, eio_at_first_write: None
) -> None:
    """An injected failure leaves a partial file, as a real crash or full disk does (a fault
    before the first byte would test only empty files)."""
    target = tmp_path / "partial"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as raised:
            write_all(fd, b"0123456789", str(target))
    finally:
        os.close(fd)
    assert raised.value.errno == errno.EIO
    assert target.read_bytes() == b"01234"


def test_a_copy_fault_falls_after_half_the_bytes(tmp_path: Path, eio_at_first_write: None) -> None:
    src = tmp_path / "src"
    src.write_bytes(bytes(range(256)) * 4096)
    target = tmp_path / "copy"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError):
            copy_into(src, fd, str(target))
    finally:
        os.close(fd)
    # A reflink is all or nothing: its mark follows it.
    assert target.read_bytes() in (src.read_bytes()[: 128 * 4096], src.read_bytes())


def test_an_atomic_write_that_fails_halfway_leaves_the_old_file(
    tmp_path: Path, eio_at_first_write: None
) -> None:
    target = tmp_path / "mlv.lock"
    target.write_bytes(b"old")
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new content", tmp_dir=tmp_path / "tmp")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path / "tmp") == []


def test_copy_into_copies_every_byte(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    target = tmp_path / "copy"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        copy_into(src, fd, str(target))
    finally:
        os.close(fd)
    assert target.read_bytes() == src.read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_copy_into_another_file_system_reads_and_writes(tmp_path: Path) -> None:
    """The kernel will not copy between two file systems (EXDEV): the bytes go through mlv."""
    import subprocess

    mount = tmp_path / "other"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        src = tmp_path / "src"
        src.write_bytes(os.urandom(5 * 1024 * 1024 + 3))
        target = mount / "copy"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            copy_into(src, fd, str(target))
        finally:
            os.close(fd)
        assert target.read_bytes() == src.read_bytes()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
