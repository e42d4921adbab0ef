"""Inter-process locks (flock): one per repository for commands that write the workspace,
mlv.lock or the stat cache, and one per object store that gc takes alone and others share."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from mlv.errors import CheckFailed, UsageError

# How long to wait for another process's lock before giving up (seconds); the environment
# variable lets CI or a script wait longer, or not at all.
TIMEOUT_ENV = "MLV_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0


class Busy(CheckFailed):
    def __init__(self, path: Path, what: str, holder: str) -> None:
        super().__init__(
            f"another mlv process{holder} is {what}",
            f"wait for it to finish, or set {TIMEOUT_ENV} to wait longer (the lock on {path}"
            " ends with the process that holds it: never delete the file)",
        )


def lock_timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise UsageError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds", "e.g. 300")
    return seconds


def _open_lock_file(path: Path, operation: int) -> int | None:
    """The lock file, opened; None for a shared lock on a store this user may only read (a
    read-only shared cache): nobody can delete from it through this user's rights anyway."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if operation != fcntl.LOCK_SH or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:
        return os.open(path, os.O_RDONLY)  # flock works on a read-only descriptor
    except OSError:
        return None


# Locks this process holds: absolute path -> (operation, depth). A command may take a lock its
# caller holds already (pull runs fetch and checkout): it is counted, not taken again. flock
# would deadlock on a second exclusive hold, and where Linux emulates flock with POSIX locks
# (NFS), releasing an inner shared hold would release the outer one.
_HELD: dict[str, tuple[int, int]] = {}
_HELD_LOCK = threading.Lock()


@contextlib.contextmanager
def _flock(
    path: Path, operation: int, what: str, timeout: float | None, names_holder: bool
) -> Iterator[int | None]:
    """Hold ``path`` locked; yields the descriptor when this call took the lock, else None."""
    key = os.path.abspath(path)
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is not None:
            if operation == fcntl.LOCK_EX and held[0] == fcntl.LOCK_SH:
                raise RuntimeError(f"lock {path} is held shared and cannot be upgraded")
            _HELD[key] = (held[0], held[1] + 1)
    if held is not None:
        try:
            yield None
        finally:
            with _HELD_LOCK:
                op, depth = _HELD[key]
                _HELD[key] = (op, depth - 1)
        return
    fd = _open_lock_file(path, operation)
    if fd is None:
        yield None
        return
    try:
        deadline = time.monotonic() + (lock_timeout() if timeout is None else timeout)
        while True:
            try:
                fcntl.flock(fd, operation | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    named = f" (pid {holder})" if holder and names_holder else ""
                    raise Busy(path, what, named) from None
                time.sleep(0.05)
        with _HELD_LOCK:
            _HELD[key] = (operation, 1)
        try:
            yield fd
        finally:
            with _HELD_LOCK:
                del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(
    path: Path,
    timeout: float | None = None,
    what: str = "working in this repository",
    *,
    exclusive_only: bool = True,
) -> Iterator[int | None]:
    """Hold an exclusive lock on ``path``; wait up to ``timeout`` seconds for other holders.

    The holder's pid is written to the file for others' Busy errors; it names the blocker only
    where every holder is exclusive (``exclusive_only``): shared holders write nothing. Yields
    the locked descriptor (None when a caller of this process holds the lock already): a child
    process given it keeps the lock held for as long as it lives.
    """
    with _flock(path, fcntl.LOCK_EX, what, timeout, exclusive_only) as fd:
        if fd is None:
            yield None
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield fd
        finally:
            os.ftruncate(fd, 0)


def is_locked(path: Path) -> bool:
    """Whether another process holds ``path`` (a lock file) right now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def shared(path: Path, timeout: float | None = None, what: str = "") -> Iterator[None]:
    """Hold ``path`` shared with other sharers; wait while someone holds it exclusively (whose
    pid the file then holds)."""
    with _flock(path, fcntl.LOCK_SH, what, timeout, True):
        yield
