"""A lock object on a remote (``<root>/gc.lock``): one ``mlv gc --remote`` at a time.

A remote has no flock, so the lock is a small JSON object naming its holder (host, pid, a random
token, when taken). It is taken by writing it where none exists and reading it back: on a
directory the write is an exclusive create; on an object store, whose plain PUT cannot refuse
to overwrite, two gcs racing within one round trip could both write, and the read-back lets the
later writer win and the other stop. A lock whose process is gone (same host, no such pid) or
older than ``STALE_AFTER`` is stale and taken over, as the local store lock ends with its process.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

from mlv import faults
from mlv.adapters.remote import RemoteStore, translate_errors
from mlv.adapters.remote_packs import RemotePacks
from mlv.errors import CheckFailed

NAME = "gc.lock"
STALE_AFTER = 24 * 3600  # a gc lock older than this is taken over (the holder died elsewhere)


class RemoteBusy(CheckFailed):
    def __init__(self, remote: RemoteStore, holder: dict[str, Any]) -> None:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("time", 0))))
        super().__init__(
            f"remote {remote.name}: another `mlv gc --remote` holds its lock"
            f" (host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, since {since})",
            f"wait for it to finish; if that process is gone (another machine), delete"
            f" {remote.root}/{NAME} on the remote, or wait: it is taken over after"
            f" {STALE_AFTER // 3600} h",
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(holder: dict[str, Any], now: float) -> bool:
    if now - float(holder.get("time", 0)) > STALE_AFTER:
        return True
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _alive(pid)


def _read(remote: RemoteStore, path: str) -> dict[str, Any] | None:
    try:  # on a directory, never through a link (nor from a FIFO)
        data = RemotePacks(remote)._read_whole(path)
    except FileNotFoundError:
        return None
    try:
        found = json.loads(data)
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {"time": 0}  # unreadable: stale


def _write(remote: RemoteStore, path: str, data: bytes, *, replace: bool) -> bool:
    """Write the lock; False when (on a directory) another process created it first."""
    faults.step(path)
    if remote.protocol != "file":
        remote.fs.pipe_file(path, data)
        return True
    remote.check_no_links(path)
    if replace:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def remote_gc_lock(remote: RemoteStore) -> Iterator[None]:
    """Hold the remote's gc lock for the block; RemoteBusy when another gc holds it."""
    path = f"{remote.root}/{NAME}"
    token = uuid.uuid4().hex
    mine = {"host": socket.gethostname(), "pid": os.getpid(), "token": token, "time": time.time()}
    with translate_errors(remote.name, remote.url):
        holder = _read(remote, path)
        if holder is not None and not _stale(holder, time.time()):
            raise RemoteBusy(remote, holder)
        written = _write(remote, path, json.dumps(mine).encode(), replace=holder is not None)
        now = _read(remote, path)
        if not written or now is None or now.get("token") != token:
            raise RemoteBusy(remote, now or {})
    try:
        yield
    finally:
        with translate_errors(remote.name, remote.url):
            now = _read(remote, path)
            if now is not None and now.get("token") == token:
                faults.step(path)
                remote.fs.rm_file(path)


def wait_for_gc(remote: RemoteStore, timeout: float) -> None:
    """Wait while a live ``gc --remote`` holds the remote's lock (RemoteBusy after
    ``timeout`` seconds): a push checks what it relied on only once no gc is deleting."""
    path = f"{remote.root}/{NAME}"
    deadline = time.monotonic() + timeout
    with translate_errors(remote.name, remote.url):
        while True:
            holder = _read(remote, path)
            if holder is None or _stale(holder, time.time()):
                return
            if time.monotonic() >= deadline:
                raise RemoteBusy(remote, holder)
            time.sleep(0.2)
