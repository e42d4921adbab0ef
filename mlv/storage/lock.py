"""An inter-process lock for commands that write the workspace, mlv.lock or the stat cache."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from mlv.errors import CheckFailed


class Busy(CheckFailed):
    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(
            f"another mlv process{holder} is working in this repository",
            f"wait for it to finish; if none is running, remove {path}",
        )


@contextlib.contextmanager
def exclusive(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; wait up to ``timeout`` seconds for another holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    raise Busy(path, f" (pid {holder})" if holder else "") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
